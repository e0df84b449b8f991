import type { IncomingMessage } from "node:http";
import type { JWTPayload } from "jose";
import { createJwtVerifier, type OidcConfig, rolesFromClaim } from "../../../lib/src/oidc.js";
import type { KeyRecord, RoutingTable } from "../table/routing-table.js";
import { GatewayError } from "./errors.js";

/** Longest a verified signature is trusted without checking again (bounded by the token's exp). */
const VERIFIED_TTL_MS = 5 * 60_000;
const CACHE_LIMIT = 10_000;
export const ORG_HEADER = "x-llm-gateway-organization";

export interface SessionAuthenticator {
  /** The caller of a session token, in the organization the request is for. */
  authenticate(req: IncomingMessage, token: string): Promise<KeyRecord>;
}

/**
 * Accepts an interactive user's OIDC session token as the OpenAI api_key.
 * Signatures are verified once per token (then cached until the token's
 * expiry or five minutes); organization membership is resolved on every
 * request from the routing table and the roles claim, so removing a member
 * takes effect as soon as the change reaches the worker. A user in several
 * organizations names one with the x-llm-gateway-organization header.
 */
export function createSessionAuthenticator(config: OidcConfig, table: RoutingTable): SessionAuthenticator {
  const jwt = createJwtVerifier(config);
  const verified = new Map<string, { payload: JWTPayload; until: number }>();

  async function claimsOf(token: string): Promise<JWTPayload> {
    const now = Date.now();
    const cached = verified.get(token);
    if (cached && cached.until > now) return cached.payload;
    const result = await jwt.verify(token);
    if ("error" in result) throw new GatewayError("invalid_api_key", "Invalid or expired session token.");
    if (verified.size >= CACHE_LIMIT) verified.clear();
    verified.set(token, {
      payload: result.payload,
      until: Math.min((result.payload.exp ?? 0) * 1000, now + VERIFIED_TTL_MS),
    });
    return result.payload;
  }

  /** Organizations the user may call: stored memberships plus the roles claim. */
  function orgsOf(payload: JWTPayload): Set<string> {
    const issuer = String(payload.iss);
    const subject = String(payload.sub);
    const orgs = new Set(table.membershipsOf(issuer, subject).map((m) => m.orgId));
    for (const slug of rolesFromClaim(payload, config.rolesClaim).bySlug.keys()) {
      const id = table.orgIdBySlug(slug);
      if (id) orgs.add(id);
    }
    for (const id of orgs) if (!table.isOrgActive(id)) orgs.delete(id);
    return orgs;
  }

  return {
    async authenticate(req, token) {
      const payload = await claimsOf(token);
      const orgs = orgsOf(payload);
      const wanted = req.headers[ORG_HEADER];
      let orgId: string | undefined;
      if (typeof wanted === "string" && wanted) {
        orgId = table.orgIdBySlug(wanted) ?? wanted;
        if (!orgs.has(orgId)) {
          throw new GatewayError("permission_denied", `You are not a member of organization "${wanted}".`);
        }
      } else if (orgs.size === 1) {
        [orgId] = orgs;
      } else {
        throw new GatewayError(
          orgs.size === 0 ? "permission_denied" : "invalid_request",
          orgs.size === 0
            ? "Your session is valid but you are not a member of any organization on this gateway."
            : `You are a member of several organizations: name one in the ${ORG_HEADER} header.`,
        );
      }
      const member = table
        .membershipsOf(String(payload.iss), String(payload.sub))
        .find((m) => m.orgId === orgId);
      return {
        id: "",
        orgId: orgId as string,
        userId: member?.userId ?? `${payload.iss}#${payload.sub}`,
        expiresAt: (payload.exp ?? 0) * 1000,
      };
    },
  };
}
