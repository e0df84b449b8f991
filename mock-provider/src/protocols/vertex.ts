/**
 * Google Vertex AI as the mock serves it under "/vertex": a credential's base
 * URL is `<origin>/vertex`. `POST /vertex/token` is the OAuth2 token endpoint
 * of the JWT-bearer grant: it verifies a service account's RS256 assertion
 * against the public key registered for its issuer (`serviceAccounts`
 * option) and issues an access token. Model calls need
 * `Authorization: Bearer <issued token>`: publisher google routes take
 * Gemini bodies (served by the Gemini protocol), publisher anthropic routes
 * take Anthropic Messages bodies. Requests count under the account's email.
 */
import { randomBytes } from "node:crypto";
import { type CryptoKey, decodeJwt, importSPKI, jwtVerify } from "jose";
import { sendJson } from "../handlers.js";
import { bearerToken } from "../plan.js";
import { anthropicErrorJson, serveAnthropicMessages } from "./anthropic.js";
import { sendGoogleError, serveGemini } from "./gemini.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

const GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer";
const TOKEN_LIFETIME_S = 3600;

interface VertexState {
  /** Issued access token → its service account and expiry (epoch ms). */
  tokens: Map<string, { email: string; expiresAt: number }>;
  /** Imported public keys by client_email. */
  keys: Map<string, Promise<CryptoKey>>;
}

/** Per-mock state (protocols are shared by every mock in the process). */
const states = new WeakMap<MockEnv, VertexState>();

function stateOf(env: MockEnv): VertexState {
  let state = states.get(env);
  if (!state) {
    state = { tokens: new Map(), keys: new Map() };
    states.set(env, state);
  }
  return state;
}

const oauthError = (req: NativeRequest, error: string, description: string) =>
  sendJson(req.res, 400, JSON.stringify({ error, error_description: description }));

/** Checks the assertion's signature, audience (this endpoint), lifetime and scope; the issuer's email, or a refusal. */
async function verifyAssertion(
  req: NativeRequest,
  env: MockEnv,
  assertion: string,
): Promise<string | string[]> {
  let issuer: unknown;
  try {
    issuer = decodeJwt(assertion).iss;
  } catch {
    return ["invalid_grant", "Invalid JWT: could not be decoded."];
  }
  const pem = typeof issuer === "string" ? env.config.serviceAccounts.get(issuer) : undefined;
  if (typeof issuer !== "string" || pem === undefined)
    return ["invalid_grant", "Invalid grant: account not found"];
  const state = stateOf(env);
  let key = state.keys.get(issuer);
  if (!key) {
    key = importSPKI(pem, "RS256");
    state.keys.set(issuer, key);
  }
  let claims: Record<string, unknown>;
  try {
    claims = (await jwtVerify(assertion, await key, { algorithms: ["RS256"], issuer })).payload;
  } catch {
    return ["invalid_grant", "Invalid JWT Signature."];
  }
  const { aud, iat, exp, scope } = claims;
  const expected = `http://${req.req.headers.host ?? ""}/vertex/token`;
  if (aud !== expected) return ["invalid_grant", "Invalid JWT: audience is not the token endpoint."];
  if (typeof iat !== "number" || typeof exp !== "number" || exp - iat > TOKEN_LIFETIME_S) {
    return ["invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes)."];
  }
  if (
    typeof scope !== "string" ||
    !scope.split(" ").includes("https://www.googleapis.com/auth/cloud-platform")
  ) {
    return ["invalid_scope", "The scope is missing or not allowed."];
  }
  return issuer;
}

async function token(req: NativeRequest, env: MockEnv): Promise<void> {
  const form = new URLSearchParams(req.body.toString("utf8"));
  if (form.get("grant_type") !== GRANT_TYPE) {
    oauthError(req, "unsupported_grant_type", `Invalid grant_type: ${form.get("grant_type") ?? ""}`);
    return;
  }
  const outcome = await verifyAssertion(req, env, form.get("assertion") ?? "");
  if (Array.isArray(outcome)) {
    oauthError(req, outcome[0] as string, outcome[1] as string);
    return;
  }
  const access = `ya29.mock-${randomBytes(24).toString("base64url")}`;
  const state = stateOf(env);
  const now = Date.now();
  for (const [t, v] of state.tokens) if (v.expiresAt <= now) state.tokens.delete(t);
  state.tokens.set(access, { email: outcome, expiresAt: now + TOKEN_LIFETIME_S * 1000 });
  sendJson(
    req.res,
    200,
    JSON.stringify({ access_token: access, expires_in: TOKEN_LIFETIME_S - 1, token_type: "Bearer" }),
  );
}

/**
 * Claude on Vertex AI: an Anthropic Messages body without `model` (it is in
 * the URL) and with `anthropic_version: "vertex-2023-10-16"`; `stream: true`
 * on :streamRawPredict.
 */
function anthropicPublisher(
  request: NativeRequest,
  env: MockEnv,
  email: string,
  model: string,
  action: string,
) {
  let body: Record<string, unknown> | undefined;
  try {
    const value: unknown = JSON.parse(request.body.toString("utf8"));
    if (typeof value === "object" && value !== null && !Array.isArray(value))
      body = value as Record<string, unknown>;
  } catch {
    body = undefined;
  }
  const problem =
    body === undefined
      ? "The request body is not valid JSON."
      : body.anthropic_version !== "vertex-2023-10-16"
        ? "anthropic_version: Input should be 'vertex-2023-10-16'"
        : (body.stream === true) !== (action === "streamRawPredict")
          ? `stream must be ${action === "streamRawPredict"} on :${action}`
          : undefined;
  if (problem !== undefined) sendJson(request.res, 400, anthropicErrorJson(400, problem));
  else serveAnthropicMessages(request, env, email, model, body);
}

const MODEL_PATH =
  /^\/v1(?:beta1)?\/projects\/[^/]+\/locations\/[^/]+\/publishers\/(google|anthropic)\/models\/([^/:]+):([A-Za-z]+)$/;
const GOOGLE_ACTIONS = new Set(["generateContent", "streamGenerateContent", "predict"]);
const ANTHROPIC_ACTIONS = new Set(["rawPredict", "streamRawPredict"]);

/** `/vertex/token` and the publisher google / anthropic model routes under `/vertex/v1/projects/…`. */
export const vertexProtocol: NativeProtocol = {
  prefix: "/vertex",
  handle(request, env) {
    const { req, res, path } = request;
    if (req.method === "POST" && path === "/token") {
      void token(request, env).catch(() => sendGoogleError(res, 500, "token endpoint failed"));
      return;
    }
    const match = req.method === "POST" ? MODEL_PATH.exec(path) : null;
    const publisher = match?.[1];
    const action = match?.[3] ?? "";
    const known = publisher === "google" ? GOOGLE_ACTIONS.has(action) : ANTHROPIC_ACTIONS.has(action);
    if (!match || !known) {
      sendGoogleError(res, 404, `The requested URL ${path} was not found on this server.`);
      return;
    }
    const access = bearerToken(req.headers.authorization);
    const issued = access === undefined ? undefined : stateOf(env).tokens.get(access);
    if (!issued || issued.expiresAt <= Date.now()) {
      sendGoogleError(
        res,
        401,
        "Request had invalid authentication credentials. Expected OAuth 2 access token, login cookie or other valid authentication credential.",
      );
      return;
    }
    const model = decodeURIComponent(match[2] as string);
    if (publisher === "google") serveGemini(request, env, issued.email, model, action);
    else anthropicPublisher(request, env, issued.email, model, action);
  },
};
