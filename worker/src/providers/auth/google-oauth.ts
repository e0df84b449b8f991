import { createHash } from "node:crypto";
import type { CryptoKey } from "jose";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import type { CredentialRecord } from "../../table/routing-table.js";
import { AuthError } from "../../upstream/call.js";
import type { UpstreamRequest } from "../types.js";

/**
 * Google service-account OAuth2 (the JWT-bearer grant, RFC 7523): the
 * credential's secret is a service-account JSON key; an RS256 assertion
 * signed with its private key is exchanged at its token_uri for an access
 * token, cached per credential until shortly before it expires. Neither the
 * key nor a token ever appears in an error message.
 */

const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
const DEFAULT_TOKEN_URI = "https://oauth2.googleapis.com/token";
const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
/** Lifetime asked for the assertion (Google's maximum). */
const ASSERTION_LIFETIME_S = 3600;
/** A token is refreshed this long before it expires. */
const REFRESH_MARGIN_MS = 60_000;
/** Budget of one token exchange. */
const EXCHANGE_TIMEOUT_MS = 10_000;
/** Cached tokens kept at most (one per credential and key; expired ones go first). */
const MAX_CACHED = 1024;

/** The fields of a service-account key file the exchange needs. */
export interface ServiceAccount {
  clientEmail: string;
  privateKey: string;
  privateKeyId: string | undefined;
  tokenUri: string;
}

interface CachedToken {
  token: string;
  /** Epoch ms after which the token is refreshed. */
  refreshAt: number;
}

const tokens = new Map<string, CachedToken>();
const inflight = new Map<string, Promise<CachedToken>>();

const unreadable = () =>
  new AuthError("the credential's secret is not a readable Google service-account JSON key", ErrorClass.AUTH);

/** Reads a service-account key file; throws AuthError (AUTH) when it is not one. */
export function parseServiceAccount(secret: string): ServiceAccount {
  let parsed: unknown;
  try {
    parsed = JSON.parse(secret);
  } catch {
    throw unreadable();
  }
  if (typeof parsed !== "object" || parsed === null) throw unreadable();
  const { client_email, private_key, private_key_id, token_uri } = parsed as Record<string, unknown>;
  if (typeof client_email !== "string" || client_email === "") throw unreadable();
  if (typeof private_key !== "string" || !private_key.includes("PRIVATE KEY")) throw unreadable();
  const tokenUri = typeof token_uri === "string" && token_uri !== "" ? token_uri : DEFAULT_TOKEN_URI;
  if (!/^https?:\/\//.test(tokenUri)) throw unreadable();
  return {
    clientEmail: client_email,
    // A key pasted with its newlines escaped twice still reads.
    privateKey: private_key.includes("\n") ? private_key : private_key.replaceAll("\\n", "\n"),
    privateKeyId: typeof private_key_id === "string" && private_key_id !== "" ? private_key_id : undefined,
    tokenUri,
  };
}

/** The signed JWT assertion for a service account, valid from `nowS` (epoch seconds). */
export async function signAssertion(account: ServiceAccount, nowS: number): Promise<string> {
  // jose loads on the first Google service-account credential used, not in every worker
  const { importPKCS8, SignJWT } = await import("jose");
  let key: CryptoKey;
  try {
    key = await importPKCS8(account.privateKey, "RS256");
  } catch {
    throw new AuthError("the service account's private key could not be read", ErrorClass.AUTH);
  }
  const header = { alg: "RS256", typ: "JWT", ...(account.privateKeyId ? { kid: account.privateKeyId } : {}) };
  return new SignJWT({ scope: SCOPE })
    .setProtectedHeader(header)
    .setIssuer(account.clientEmail)
    .setSubject(account.clientEmail)
    .setAudience(account.tokenUri)
    .setIssuedAt(nowS)
    .setExpirationTime(nowS + ASSERTION_LIFETIME_S)
    .sign(key);
}

/** The OAuth `error` code of a refusal (e.g. invalid_grant), when it is a plain word. */
function oauthError(text: string): string {
  try {
    const code = (JSON.parse(text) as { error?: unknown }).error;
    if (typeof code === "string" && /^[a-z_]{1,64}$/.test(code)) return `: ${code}`;
  } catch {
    // not JSON
  }
  return "";
}

/** POSTs the assertion to the token endpoint and reads the token; throws AuthError by outcome. */
async function exchange(account: ServiceAccount): Promise<CachedToken> {
  const started = Date.now();
  const assertion = await signAssertion(account, Math.floor(started / 1000));
  let res: Response;
  let text: string;
  try {
    res = await fetch(account.tokenUri, {
      method: "POST",
      headers: { "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
      body: new URLSearchParams({ grant_type: GRANT_TYPE, assertion }).toString(),
      signal: AbortSignal.timeout(EXCHANGE_TIMEOUT_MS),
      redirect: "error",
    });
    text = await res.text();
  } catch (err) {
    const timedOut = (err as Error).name === "TimeoutError";
    throw new AuthError(
      timedOut
        ? "the Google token endpoint did not answer in time"
        : "could not reach the Google token endpoint",
      timedOut ? ErrorClass.TIMEOUT : ErrorClass.UNAVAILABLE,
    );
  }
  if (res.status >= 500 || res.status === 429) {
    throw new AuthError(
      `the Google token endpoint failed (HTTP ${res.status})`,
      res.status === 429 ? ErrorClass.RATE_LIMITED : ErrorClass.UNAVAILABLE,
    );
  }
  if (res.status !== 200) {
    throw new AuthError(
      `the Google token endpoint refused the service account (HTTP ${res.status}${oauthError(text)})`,
      ErrorClass.AUTH,
    );
  }
  let body: { access_token?: unknown; expires_in?: unknown };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = {};
  }
  if (typeof body.access_token !== "string" || body.access_token === "") {
    throw new AuthError("the Google token endpoint answered without an access token", ErrorClass.UNAVAILABLE);
  }
  const expiresIn = typeof body.expires_in === "number" && body.expires_in > 0 ? body.expires_in : 3600;
  return { token: body.access_token, refreshAt: started + expiresIn * 1000 - REFRESH_MARGIN_MS };
}

/** Stores a token, dropping expired entries (then the oldest) beyond the cap. */
function remember(key: string, token: CachedToken): void {
  tokens.delete(key);
  tokens.set(key, token);
  if (tokens.size <= MAX_CACHED) return;
  const now = Date.now();
  for (const [k, t] of tokens) if (t.refreshAt <= now) tokens.delete(k);
  for (const k of tokens.keys()) {
    if (tokens.size <= MAX_CACHED) break;
    tokens.delete(k);
  }
}

/** The cache key of a credential: its id and a digest of its secret (a rotated key gets a new token). */
function cacheKey(credential: CredentialRecord): string {
  const digest = createHash("sha256").update(credential.entry.secret).digest("hex").slice(0, 16);
  return `${credential.id}:${digest}`;
}

/**
 * Sets `Authorization: Bearer <access token>` for a credential whose secret
 * is a service-account JSON key. Tokens are cached until 60 s before they
 * expire; concurrent requests share one exchange. Throws AuthError: AUTH for
 * an unreadable key or a refused exchange, UNAVAILABLE (TIMEOUT, RATE_LIMITED)
 * when the token endpoint cannot be reached or fails.
 */
export async function googleServiceAccountAuth(
  req: UpstreamRequest,
  credential: CredentialRecord,
): Promise<UpstreamRequest> {
  const key = cacheKey(credential);
  const cached = tokens.get(key);
  let token: CachedToken;
  if (cached && cached.refreshAt > Date.now()) token = cached;
  else {
    let pending = inflight.get(key);
    if (!pending) {
      const account = parseServiceAccount(credential.entry.secret);
      pending = exchange(account)
        .then((fresh) => {
          remember(key, fresh);
          return fresh;
        })
        .finally(() => inflight.delete(key));
      inflight.set(key, pending);
    }
    token = await pending;
  }
  req.headers.authorization = `Bearer ${token.token}`;
  return req;
}
