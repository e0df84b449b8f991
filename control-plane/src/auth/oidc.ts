import { randomUUID } from "node:crypto";
import { createRemoteJWKSet, type JWTPayload, jwtVerify } from "jose";
import type { Logger } from "../../../lib/src/logger.js";
import type { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Db } from "../db/pool.js";
import type { Principal } from "./principal.js";
import { roleFromDb } from "./roles.js";

export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Unset: discovered from the issuer's /.well-known/openid-configuration. */
  jwksUrl: string | undefined;
  /** Claim holding "<org-slug>:<role>" values and optionally "platform-admin". */
  rolesClaim: string;
}

/** Signature algorithms accepted: asymmetric only, so a leaked audience cannot mint tokens. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];
export const PLATFORM_ADMIN_CLAIM_VALUE = "platform-admin";

/** Cheap shape test before any verification work: three base64url parts, a JSON header. */
export const looksLikeJwt = (token: string) => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token);

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
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  async function keySet() {
    if (jwks) return jwks;
    let url = config.jwksUrl;
    if (!url) {
      const res = await fetch(`${config.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`);
      if (!res.ok) throw new Error(`OIDC discovery failed: HTTP ${res.status}`);
      url = String(((await res.json()) as { jwks_uri?: unknown }).jwks_uri ?? "");
      if (!url) throw new Error("OIDC discovery document has no jwks_uri");
    }
    jwks = createRemoteJWKSet(new URL(url), { cooldownDuration: 30_000, cacheMaxAge: 600_000 });
    return jwks;
  }

  async function claimMemberships(
    payload: JWTPayload,
  ): Promise<{ roles: Map<string, Role>; platformAdmin: boolean }> {
    const raw = payload[config.rolesClaim];
    const values = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === "string") : [];
    const bySlug = new Map<string, Role>();
    for (const v of values) {
      const [slug, role] = v.split(":");
      if (slug && role && roleFromDb(role)) bySlug.set(slug, roleFromDb(role));
    }
    const roles = new Map<string, Role>();
    if (bySlug.size > 0) {
      const { rows } = await db.query<{ id: string; slug: string }>(
        "SELECT id, slug FROM organizations WHERE slug = ANY($1) AND NOT disabled",
        [[...bySlug.keys()]],
      );
      for (const r of rows) roles.set(r.id, bySlug.get(r.slug) as Role);
    }
    return { roles, platformAdmin: values.includes(PLATFORM_ADMIN_CLAIM_VALUE) };
  }

  return {
    async verify(token) {
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, await keySet(), {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          requiredClaims: ["sub", "exp"],
        }));
      } catch (err) {
        log.debug({ reason: (err as Error).message }, "session token rejected");
        return undefined;
      }
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
