import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../../helpers/gateway.js";
import { describeProviderE2E } from "../../helpers/provider-e2e.js";

/**
 * AWS Bedrock end to end: the OpenAI SDK against the worker, routed to a
 * bedrock credential whose base URL is the mock's `/bedrock` protocol.
 *
 * SigV4: the harness gives each credential one of its mock keys; here that
 * key is the access key id and `<key>-secret` its secret access key. The
 * mock derives the same secret from the access key id it is shown
 * (`awsKeys` as a function) and verifies every signature with its own
 * implementation, so a request reaches the mock's replies only when the
 * gateway signed the exact bytes, host and double-encoded path it sent.
 */
const secretOf = (accessKeyId: string) => `${accessKeyId}-secret`;
const awsKeys = (id: string) => (id.startsWith("sk-mock-") ? secretOf(id) : undefined);
const settings = (origin: string) => ({ baseUrl: `${origin}/bedrock`, region: "us-east-1" });
// A model id with ':' (URL-encoded in the path, double-encoded in the signature).
const CHAT_MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";

describeProviderE2E({
  provider: "bedrock",
  settings,
  secret: (key) => JSON.stringify({ accessKeyId: key, secretAccessKey: secretOf(key) }),
  chatModel: CHAT_MODEL,
  embeddingsModel: "amazon.titan-embed-text-v2:0",
  mock: { awsKeys },
});

describe("bedrock through the gateway: API keys, refused signatures, translation errors", () => {
  let gw: TestGateway;
  let client: OpenAI;
  const hello = [{ role: "user" as const, content: "Hello there" }];

  beforeAll(async () => {
    gw = await startTestGateway({ secrets: 3, mock: { awsKeys } });
    client = gw.openai;
    const origin = new URL(gw.mock.url).origin;
    // A Bedrock API key: the secret is not JSON, so it travels as a bearer token (one of the mock's apiKeys).
    const apiKey = await gw.credential({ provider: "bedrock", settings: settings(origin) });
    await gw.route("bearer", [{ credentialId: apiKey.id, upstreamModel: CHAT_MODEL }]);
    await gw.route("cohere", [{ credentialId: apiKey.id, upstreamModel: "cohere.embed-english-v3" }]);
    const wrong = await gw.credential({
      provider: "bedrock",
      settings: settings(origin),
      secret: (key) => JSON.stringify({ accessKeyId: key, secretAccessKey: "not-the-secret" }),
    });
    await gw.route("wrong-secret", [{ credentialId: wrong.id, upstreamModel: CHAT_MODEL }]);
  }, 90_000);

  afterAll(async () => {
    await gw?.close();
  });

  it("chats and embeds (Cohere) with a Bedrock API key", async () => {
    const c = await client.chat.completions.create({ model: "bearer", messages: hello });
    expect(c.choices[0]?.message.content).toBe("tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7");
    const e = await client.embeddings.create({ model: "cohere", input: ["first text", "second text"] });
    expect(e.data.map((d) => d.embedding.length)).toEqual([8, 8]);
  });

  it("does not reach the model when the signature is wrong (the mock verifies it)", async () => {
    const err = await client.chat.completions
      .create({ model: "wrong-secret", messages: hello })
      .catch((e) => e);
    expect(err.status).toBe(502);
    expect(err.code).toBe("upstream_auth_failed");
    expect(JSON.stringify(err.error)).not.toContain("not-the-secret");
  });

  it("refuses an image URL Bedrock cannot take with a 400 naming the part", async () => {
    const err = await client.chat.completions
      .create({
        model: "bearer",
        messages: [
          {
            role: "user",
            content: [{ type: "image_url", image_url: { url: "https://example.com/cat.png" } }],
          },
        ],
      })
      .catch((e) => e);
    expect(err.status).toBe(400);
    expect(err.param).toBe("messages[0].content[0]");
    expect(err.message).toMatch(/data: URLs/);
  });
});
