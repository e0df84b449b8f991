import type { AuthStyle } from "../../../../lib/src/provider-catalog.js";
import type { CredentialRecord } from "../../table/routing-table.js";
import type { UpstreamRequest } from "../types.js";
import { googleServiceAccountAuth } from "./google-oauth.js";
import { headerAuth, looksLikeToken } from "./header.js";
import { sigv4Auth } from "./sigv4.js";

/**
 * Adds a credential's authentication to a built request. Synchronous for
 * header schemes; SigV4 signs the final bytes and Google exchanges a
 * service-account assertion for a (cached) access token.
 */
export type Authenticate = (
  req: UpstreamRequest,
  credential: CredentialRecord,
) => UpstreamRequest | Promise<UpstreamRequest>;

const bearer = headerAuth("authorization", "Bearer ");
const apiKey = headerAuth("api-key");

export const AUTHENTICATORS: Readonly<Record<AuthStyle, Authenticate>> = {
  bearer: (req, c) => bearer(req, c.entry.secret),
  // Azure: an API key in api-key, or an Entra ID token as a bearer token.
  azure: (req, c) => (looksLikeToken(c.entry.secret) ? bearer : apiKey)(req, c.entry.secret),
  "x-api-key": (req, c) => headerAuth("x-api-key")(req, c.entry.secret),
  "goog-api-key": (req, c) => headerAuth("x-goog-api-key")(req, c.entry.secret),
  "xi-api-key": (req, c) => headerAuth("xi-api-key")(req, c.entry.secret),
  "aws-sigv4": sigv4Auth,
  "google-service-account": googleServiceAccountAuth,
  none: (req) => req,
};

/** The row's static headers, then the credential's authentication. */
export function authenticate(req: UpstreamRequest, credential: CredentialRecord) {
  const { headers, authStyle } = credential.provider;
  if (headers) for (const [k, v] of Object.entries(headers)) req.headers[k] ??= v;
  return AUTHENTICATORS[authStyle](req, credential);
}
