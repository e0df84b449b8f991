import type { UpstreamRequest } from "../types.js";

/** Sets one header to the secret (with a prefix): the auth of most providers. Nothing for an empty secret. */
export function headerAuth(name: string, prefix = "") {
  return (req: UpstreamRequest, secret: string): UpstreamRequest => {
    if (secret) req.headers[name] = prefix + secret;
    return req;
  };
}

/** A JSON Web Token (three base64url parts): an Entra ID or OIDC access token rather than an API key. */
export function looksLikeToken(secret: string): boolean {
  return /^eyJ[\w-]*\.[\w-]+\.[\w-]*$/.test(secret);
}
