import { randomUUID } from "node:crypto";
import type { JWTPayload } from "jose";
import type { Logger } from "../../../lib/src/logger.js";
import { createJwtVerifier, type OidcConfig, rolesFromClaim } from "../../../lib/src/oidc.js";
import type { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Db } from "../db/pool.js";
import type { Principal } from "./principal.js";
import { roleFromDb } from "./roles.js";

export interface OidcVerifier {
  /** The principal for a valid session token, or undefined (bad signature, issuer, audience, expiry...). */
  verify(token: string): Promise<Principal | undefined>;
}

/**
 * Verifies OIDC/JWT session tokens and turns them into principals. A user is
 * created on first sign-in (by issuer and subject); memberships come from the
 * memberships table and from the roles claim, the claim winning for an
 * organization named in both.
 */
export function createOidcVerifier(config: OidcConfig, db: Db, log: Logger): OidcVerifier {
  const jwt = createJwtVerifier(config);

  async function claimMemberships(
    payload: JWTPayload,
  ): Promise<{ roles: Map<string, Role>; platformAdmin: boolean }> {
    const { bySlug, platformAdmin } = rolesFromClaim(payload, config.rolesClaim);
    const roles = new Map<string, Role>();
    if (bySlug.size > 0) {
      const { rows } = await db.query<{ id: string; slug: string }>(
        "SELECT id, slug FROM organizations WHERE slug = ANY($1) AND NOT disabled",
        [[...bySlug.keys()]],
      );
      for (const r of rows) {
        const role = roleFromDb(bySlug.get(r.slug) ?? "");
        if (role) roles.set(r.id, role);
      }
    }
    return { roles, platformAdmin };
  }

  return {
    async verify(token) {
      const verified = await jwt.verify(token);
      if ("error" in verified) {
        log.debug({ reason: verified.error }, "session token rejected");
        return undefined;
      }
      const { payload } = verified;
      const sub = String(payload.sub);
      const { rows } = await db.query<{ id: string }>(
        `INSERT INTO users (id, issuer, subject, email, display_name, last_seen_at) VALUES ($1, $2, $3, $4, $5, now())
         ON CONFLICT (issuer, subject) DO UPDATE SET last_seen_at = now(),
           email = CASE WHEN EXCLUDED.email <> '' THEN EXCLUDED.email ELSE users.email END
         RETURNING id`,
        [randomUUID(), config.issuer, sub, String(payload.email ?? ""), String(payload.name ?? "")],
      );
      const userId = rows[0]?.id as string;
      const stored = await db.query<{ org_id: string; role: string }>(
        `SELECT m.org_id, m.role FROM memberships m JOIN organizations o ON o.id = m.org_id
         WHERE m.user_id = $1 AND NOT o.disabled`,
        [userId],
      );
      const fromClaims = await claimMemberships(payload);
      const memberships = new Map<string, Role>(stored.rows.map((m) => [m.org_id, roleFromDb(m.role)]));
      for (const [org, role] of fromClaims.roles) memberships.set(org, role);
      return { kind: "user", id: userId, memberships, platformAdmin: fromClaims.platformAdmin };
    },
  };
}
