import { importPKCS8, SignJWT } from "jose";
import { afterAll, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { testServiceAccount } from "../../../test/helpers/google-service-account.js";
import { embeddingVector } from "../openai-shapes.js";
import { type MockProvider, startMockProvider } from "../server.js";

const account = testServiceAccount("vertex-mock");
const stranger = testServiceAccount("stranger");
const SCOPE = "https://www.googleapis.com/auth/cloud-platform";
let mock: MockProvider;
let origin: string;
let tokenUri: string;

beforeAll(async () => {
  mock = await startMockProvider({
    apiKeys: ["sk-unused"],
    chunkCount: 3,
    serviceAccounts: { [account.clientEmail]: account.publicKeyPem },
  });
  origin = new URL(mock.url).origin;
  tokenUri = `${origin}/vertex/token`;
});
afterAll(async () => {
  await mock.close();
});
beforeEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

interface Claims {
  iss?: string;
  aud?: string;
  lifetime?: number;
  scope?: string;
}

/** An RS256 assertion signed with `pem`, with the claims a service account sends unless overridden. */
async function assertion(pem: string, claims: Claims = {}): Promise<string> {
  const now = Math.floor(Date.now() / 1000);
  const iss = claims.iss ?? account.clientEmail;
  return new SignJWT({ scope: claims.scope ?? SCOPE })
    .setProtectedHeader({ alg: "RS256", typ: "JWT", kid: account.privateKeyId })
    .setIssuer(iss)
    .setSubject(iss)
    .setAudience(claims.aud ?? tokenUri)
    .setIssuedAt(now)
    .setExpirationTime(now + (claims.lifetime ?? 3600))
    .sign(await importPKCS8(pem, "RS256"));
}

const exchange = (jwt: string, grant = "urn:ietf:params:oauth:grant-type:jwt-bearer") =>
  fetch(tokenUri, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: grant, assertion: jwt }).toString(),
  });

async function accessToken(): Promise<string> {
  const res = await exchange(await assertion(account.privateKeyPem));
  expect(res.status).toBe(200);
  const body = (await res.json()) as { access_token: string; expires_in: number; token_type: string };
  expect(body.expires_in).toBeGreaterThan(3000);
  expect(body.token_type).toBe("Bearer");
  return body.access_token;
}

const MODELS = "/vertex/v1/projects/p1/locations/us-central1/publishers";
const call = (path: string, body: unknown, token?: string) =>
  fetch(`${origin}${MODELS}${path}`, {
    method: "POST",
    headers: { "content-type": "application/json", ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify(body),
  });

const HELLO = { contents: [{ role: "user", parts: [{ text: "Hello" }] }] };

describe("Vertex AI token endpoint", () => {
  it("issues a distinct access token for a valid assertion", async () => {
    const a = await accessToken();
    const b = await accessToken();
    expect(a).toMatch(/^ya29\./);
    expect(a).not.toBe(b);
  });

  it.each<[string, () => Promise<string>, string]>([
    ["signed by another key", () => assertion(stranger.privateKeyPem), "invalid_grant"],
    [
      "from an unknown account",
      () => assertion(stranger.privateKeyPem, { iss: stranger.clientEmail }),
      "invalid_grant",
    ],
    [
      "for another audience",
      () => assertion(account.privateKeyPem, { aud: "https://oauth2.googleapis.com/token" }),
      "invalid_grant",
    ],
    [
      "living longer than an hour",
      () => assertion(account.privateKeyPem, { lifetime: 7200 }),
      "invalid_grant",
    ],
    [
      "without the cloud-platform scope",
      () => assertion(account.privateKeyPem, { scope: "email" }),
      "invalid_scope",
    ],
    ["that is not a JWT", async () => "not-a-jwt", "invalid_grant"],
  ])("refuses an assertion %s", async (_name, make, error) => {
    const res = await exchange(await make());
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe(error);
  });

  it("refuses another grant type", async () => {
    const res = await exchange(await assertion(account.privateKeyPem), "client_credentials");
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: string }).error).toBe("unsupported_grant_type");
  });
});

describe("Vertex AI model calls", () => {
  it.each([
    ["without a token", undefined],
    ["with a token the mock never issued", "ya29.forged"],
  ])("are refused %s (401 UNAUTHENTICATED, not counted)", async (_name, token) => {
    const res = await call("/google/models/gemini-2.5-flash:generateContent", HELLO, token);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe("UNAUTHENTICATED");
    expect(mock.stats().total).toBe(0);
  });

  it("serve Gemini bodies on publisher google routes, counted under the service account", async () => {
    const token = await accessToken();
    const res = await call("/google/models/gemini-2.5-flash:generateContent", HELLO, token);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { candidates: Array<{ content: { parts: Array<{ text: string }> } }> };
    expect(body.candidates[0]?.content.parts[0]?.text).toBe("tok0 tok1 tok2");
    const stream = await call("/google/models/gemini-2.5-flash:streamGenerateContent?alt=sse", HELLO, token);
    expect(stream.headers.get("content-type")).toBe("text/event-stream");
    expect((await stream.text()).match(/^data: /gm)).toHaveLength(3);
    expect(mock.stats().byKey).toEqual({ [account.clientEmail]: 2 });
  });

  it("embed with :predict, reporting token counts", async () => {
    const token = await accessToken();
    const res = await call(
      "/google/models/gemini-embedding-001:predict",
      { instances: [{ content: "hello" }] },
      token,
    );
    expect(await res.json()).toEqual({
      predictions: [
        {
          embeddings: { values: embeddingVector("hello"), statistics: { token_count: 2, truncated: false } },
        },
      ],
      metadata: { billableCharacterCount: 5 },
    });
  });

  it("apply fault rules in Google's error shape", async () => {
    const token = await accessToken();
    mock.setFaults([{ match: { apiKey: account.clientEmail }, status: 429, retryAfter: "3", times: 1 }]);
    const res = await call("/google/models/gemini-2.5-flash:generateContent", HELLO, token);
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(((await res.json()) as { error: { status: string } }).error.status).toBe("RESOURCE_EXHAUSTED");
  });

  it("serve Anthropic bodies on publisher anthropic routes", async () => {
    const token = await accessToken();
    const body = {
      anthropic_version: "vertex-2023-10-16",
      max_tokens: 64,
      messages: [{ role: "user", content: "Hello" }],
    };
    const res = await call("/anthropic/models/claude-sonnet-4-5:rawPredict", body, token);
    expect(res.status).toBe(200);
    const message = (await res.json()) as { type: string; content: Array<{ text: string }> };
    expect(message.type).toBe("message");
    expect(message.content[0]?.text).toBe("tok0 tok1 tok2");
    const stream = await call(
      "/anthropic/models/claude-sonnet-4-5:streamRawPredict",
      { ...body, stream: true },
      token,
    );
    expect(await stream.text()).toContain("event: message_stop");
    const unversioned = await call(
      "/anthropic/models/claude-sonnet-4-5:rawPredict",
      { ...body, anthropic_version: undefined },
      token,
    );
    expect(unversioned.status).toBe(400);
    expect(mock.stats().byModel).toEqual({ "claude-sonnet-4-5": 2 });
  });

  it("answer unknown routes with 404", async () => {
    const token = await accessToken();
    expect((await call("/google/models/m:rawPredict", HELLO, token)).status).toBe(404);
    expect((await call("/meta/models/m:generateContent", HELLO, token)).status).toBe(404);
  });
});
