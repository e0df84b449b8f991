import type { createRemoteJWKSet, JWTPayload } from "jose";
import { envOptional, envString, envUrl } from "./env.js";

/** OIDC settings shared by the control plane (management) and workers (inference). */
export interface OidcConfig {
  issuer: string;
  audience: string;
  /** Unset: discovered from the issuer's /.well-known/openid-configuration. */
  jwksUrl: string | undefined;
  /** Claim holding "<org-slug>:<role>" values and optionally "platform-admin". */
  rolesClaim: string;
}

export const PLATFORM_ADMIN_CLAIM_VALUE = "platform-admin";

/** Signature algorithms accepted: asymmetric only, so nobody holding a shared secret can mint tokens. */
const ALGORITHMS = ["RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"];

/** Cheap shape test before any verification work: three base64url parts, a JSON header. */
export const looksLikeJwt = (token: string) => /^eyJ[\w-]*\.[\w-]+\.[\w-]+$/.test(token);

/** Reads LLM_GATEWAY_OIDC_*; undefined when no issuer is configured. */
export function oidcConfigFromEnv(env: NodeJS.ProcessEnv): OidcConfig | undefined {
  const issuer = envOptional(env, "LLM_GATEWAY_OIDC_ISSUER");
  if (!issuer) return undefined;
  envUrl(env, "LLM_GATEWAY_OIDC_ISSUER");
  const jwksUrl = envOptional(env, "LLM_GATEWAY_OIDC_JWKS_URL");
  if (jwksUrl) envUrl(env, "LLM_GATEWAY_OIDC_JWKS_URL");
  return {
    issuer,
    audience: envString(env, "LLM_GATEWAY_OIDC_AUDIENCE"),
    jwksUrl,
    rolesClaim: envString(env, "LLM_GATEWAY_OIDC_ROLES_CLAIM", "llm_gateway_roles"),
  };
}

/** What the roles claim grants: role names by organization slug, and platform admin. */
export function rolesFromClaim(
  payload: JWTPayload,
  claim: string,
): { bySlug: Map<string, string>; platformAdmin: boolean } {
  const raw = payload[claim];
  const values = Array.isArray(raw) ? raw.filter((v): v is string => typeof v === "string") : [];
  const bySlug = new Map<string, string>();
  for (const v of values) {
    const [slug, role] = v.split(":");
    if (slug && role) bySlug.set(slug, role);
  }
  return { bySlug, platformAdmin: values.includes(PLATFORM_ADMIN_CLAIM_VALUE) };
}

export interface JwtVerifier {
  /** The verified claims (signature, issuer, audience, expiry), or undefined with the reason. */
  verify(token: string): Promise<{ payload: JWTPayload } | { error: string }>;
}

/**
 * Verifies session tokens against the issuer's JWKS (discovered once, keys cached by jose).
 * jose is loaded on the first verification: a gateway without OIDC never loads its 46 modules
 * (about 2.5 MB resident per process).
 */
export function createJwtVerifier(config: OidcConfig): JwtVerifier {
  let jwks: ReturnType<typeof createRemoteJWKSet> | undefined;
  async function keySet() {
    if (jwks) return jwks;
    const { createRemoteJWKSet } = await import("jose");
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
  return {
    async verify(token) {
      try {
        const keys = await keySet();
        const { jwtVerify } = await import("jose");
        const { payload } = await jwtVerify(token, keys, {
          issuer: config.issuer,
          audience: config.audience,
          algorithms: ALGORITHMS,
          requiredClaims: ["sub", "exp"],
        });
        return { payload };
      } catch (err) {
        return { error: (err as Error).message };
      }
    },
  };
}
