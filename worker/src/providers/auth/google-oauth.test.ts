import { randomUUID } from "node:crypto";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { create } from "@bufbuild/protobuf";
import { decodeProtectedHeader, importSPKI, jwtVerify } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { findProvider } from "../../../../lib/src/provider-catalog.js";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialEntrySchema } from "../../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { testServiceAccount } from "../../../../test/helpers/google-service-account.js";
import type { CredentialRecord } from "../../table/routing-table.js";
import { AuthError } from "../../upstream/call.js";
import type { UpstreamRequest } from "../types.js";
import { googleServiceAccountAuth, parseServiceAccount } from "./google-oauth.js";

const account = testServiceAccount("oauth-unit");

/** What the local token endpoint answers next, and what it received. */
interface TokenServer {
  url: string;
  exchanges: number;
  /** Verified claims and header of the last assertion. */
  last: { claims: Record<string, unknown>; kid: unknown; form: URLSearchParams } | undefined;
  reply: (n: number) => { status: number; body: unknown; delayMs?: number };
  close(): Promise<void>;
}

async function startTokenServer(): Promise<TokenServer> {
  const publicKey = await importSPKI(account.publicKeyPem, "RS256");
  const state: TokenServer = {
    url: "",
    exchanges: 0,
    last: undefined,
    reply: (n) => ({
      status: 200,
      body: { access_token: `ya29.token-${n}`, expires_in: 3599, token_type: "Bearer" },
    }),
    close: async () => undefined,
  };
  const server = http.createServer((req, res) => {
    let raw = "";
    req.on("data", (c: Buffer) => {
      raw += c.toString("utf8");
    });
    req.on("end", async () => {
      const n = ++state.exchanges;
      const form = new URLSearchParams(raw);
      const assertion = form.get("assertion") ?? "";
      try {
        const { payload } = await jwtVerify(assertion, publicKey, { audience: state.url });
        state.last = { claims: payload, kid: decodeProtectedHeader(assertion).kid, form };
      } catch {
        res.writeHead(400, { "content-type": "application/json" });
        res.end(JSON.stringify({ error: "invalid_grant", error_description: "Invalid JWT Signature." }));
        return;
      }
      const { status, body, delayMs } = state.reply(n);
      setTimeout(() => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(typeof body === "string" ? body : JSON.stringify(body));
      }, delayMs ?? 0);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  state.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/token`;
  state.close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return state;
}

/** A vertex-ai credential with a fresh id holding `secret`. */
function credential(secret: string, id: string = randomUUID()): CredentialRecord {
  const provider = findProvider("vertex-ai");
  if (!provider) throw new Error("vertex-ai missing from the catalog");
  return {
    id,
    orgId: randomUUID(),
    provider,
    entry: create(CredentialEntrySchema, { id, provider: provider.id, secret, enabled: true, weight: 1 }),
    origin: "https://us-central1-aiplatform.googleapis.com",
    basePath: "",
    models: new Set(),
  };
}

const request = (): UpstreamRequest => ({
  path: "/x",
  headers: { "content-type": "application/json" },
  body: "{}",
});

async function authError(p: Promise<unknown>): Promise<AuthError> {
  const err = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(AuthError);
  return err as AuthError;
}

describe("googleServiceAccountAuth", () => {
  let server: TokenServer;
  beforeAll(async () => {
    server = await startTokenServer();
  });
  afterAll(async () => {
    await server.close();
  });

  it("exchanges a signed assertion for a bearer token", async () => {
    server.reply = () => ({ status: 200, body: { access_token: "ya29.first", expires_in: 3599 } });
    const out = await googleServiceAccountAuth(request(), credential(account.json(server.url)));
    expect(out.headers.authorization).toBe("Bearer ya29.first");
    expect(out.headers["content-type"]).toBe("application/json");
    const last = server.last;
    expect(last?.form.get("grant_type")).toBe("urn:ietf:params:oauth:grant-type:jwt-bearer");
    expect(last?.kid).toBe(account.privateKeyId);
    expect(last?.claims).toMatchObject({
      iss: account.clientEmail,
      sub: account.clientEmail,
      aud: server.url,
      scope: "https://www.googleapis.com/auth/cloud-platform",
    });
    const { iat, exp } = (last?.claims ?? {}) as { iat: number; exp: number };
    expect(exp - iat).toBe(3600);
    expect(Math.abs(iat - Date.now() / 1000)).toBeLessThan(5);
  });

  it("caches the token per credential and shares one exchange among concurrent requests", async () => {
    server.reply = (n) => ({
      status: 200,
      body: { access_token: `ya29.c${n}`, expires_in: 3599 },
      delayMs: 30,
    });
    const cred = credential(account.json(server.url));
    const before = server.exchanges;
    const outs = await Promise.all(
      Array.from({ length: 5 }, () => googleServiceAccountAuth(request(), cred)),
    );
    const again = await googleServiceAccountAuth(request(), cred);
    expect(server.exchanges - before).toBe(1);
    const tokens = new Set([...outs, again].map((r) => r.headers.authorization));
    expect(tokens.size).toBe(1);
  });

  it("gets a new token when the secret changes, and for another credential", async () => {
    server.reply = (n) => ({ status: 200, body: { access_token: `ya29.r${n}`, expires_in: 3599 } });
    const id = randomUUID();
    const before = server.exchanges;
    await googleServiceAccountAuth(request(), credential(account.json(server.url), id));
    // The same credential with an edited key file is another secret (a rotated key).
    const edited = JSON.stringify({ ...JSON.parse(account.json(server.url)), client_id: "2" });
    await googleServiceAccountAuth(request(), credential(edited, id));
    await googleServiceAccountAuth(request(), credential(account.json(server.url)));
    expect(server.exchanges - before).toBe(3);
  });

  it("refreshes a token that expires within the 60 s margin", async () => {
    server.reply = (n) => ({ status: 200, body: { access_token: `ya29.s${n}`, expires_in: 30 } });
    const cred = credential(account.json(server.url));
    const a = await googleServiceAccountAuth(request(), cred);
    const b = await googleServiceAccountAuth(request(), cred);
    expect(a.headers.authorization).not.toBe(b.headers.authorization);
  });

  it.each([
    [400, { error: "invalid_grant", error_description: "Invalid JWT Signature." }],
    [401, { error: "unauthorized_client" }],
  ])("reports a refused exchange (HTTP %i) as AUTH without the key or a token", async (status, body) => {
    server.reply = () => ({ status, body });
    const err = await authError(googleServiceAccountAuth(request(), credential(account.json(server.url))));
    expect(err.errorClass).toBe(ErrorClass.AUTH);
    expect(err.message).toContain(`HTTP ${status}`);
    expect(err.message).not.toContain("PRIVATE KEY");
    expect(err.message).not.toContain(account.privateKeyId);
  });

  it("does not cache a refusal: the next request tries again", async () => {
    const cred = credential(account.json(server.url));
    server.reply = () => ({ status: 400, body: { error: "invalid_grant" } });
    await authError(googleServiceAccountAuth(request(), cred));
    server.reply = () => ({ status: 200, body: { access_token: "ya29.after", expires_in: 3599 } });
    expect((await googleServiceAccountAuth(request(), cred)).headers.authorization).toBe("Bearer ya29.after");
  });

  it.each([
    [500, "server error"],
    [503, { error: "temporarily_unavailable" }],
  ])("reports HTTP %i from the token endpoint as UNAVAILABLE", async (status, body) => {
    server.reply = () => ({ status, body });
    const err = await authError(googleServiceAccountAuth(request(), credential(account.json(server.url))));
    expect(err.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it("reports a 200 without an access token as UNAVAILABLE", async () => {
    server.reply = () => ({ status: 200, body: "<html>" });
    const err = await authError(googleServiceAccountAuth(request(), credential(account.json(server.url))));
    expect(err.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it("reports an unreachable token endpoint as UNAVAILABLE", async () => {
    const closed = await startTokenServer();
    const url = closed.url;
    await closed.close();
    const err = await authError(googleServiceAccountAuth(request(), credential(account.json(url))));
    expect(err.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it.each([
    ["not JSON", "sk-not-a-key-file"],
    ["JSON without client_email", JSON.stringify({ private_key: account.privateKeyPem })],
    [
      "a private key that is not a key",
      JSON.stringify({
        client_email: "a@b",
        private_key: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n",
      }),
    ],
    [
      "a token_uri that is not http(s)",
      JSON.stringify({
        client_email: "a@b",
        private_key: account.privateKeyPem,
        token_uri: "file:///etc/passwd",
      }),
    ],
  ])("reports %s as AUTH without quoting the secret", async (_name, secret) => {
    const err = await authError(googleServiceAccountAuth(request(), credential(secret)));
    expect(err.errorClass).toBe(ErrorClass.AUTH);
    expect(err.message).not.toContain(secret.slice(0, 12));
  });
});

describe("parseServiceAccount", () => {
  it("reads a key file, defaulting token_uri to Google's and unescaping a doubly escaped key", () => {
    const escaped = account.privateKeyPem.replaceAll("\n", "\\n");
    const sa = parseServiceAccount(JSON.stringify({ client_email: "x@y", private_key: escaped }));
    expect(sa.tokenUri).toBe("https://oauth2.googleapis.com/token");
    expect(sa.privateKey).toBe(account.privateKeyPem);
    expect(sa.privateKeyId).toBeUndefined();
  });
});
