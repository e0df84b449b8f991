import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * The Anthropic Messages ingress (issue 5, acceptance 2): the official
 * `@anthropic-ai/sdk`, pointed at the worker, holds a streaming tool-use
 * conversation routed to an OpenAI-compatible target and to a Bedrock target
 * (SigV4-signed, binary event stream) — the client never knows.
 */
const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS: Anthropic.Tool[] = [
  {
    name: "lookup",
    description: "Looks something up",
    input_schema: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
  },
];

let gw: TestGateway;
let client: Anthropic;

beforeAll(async () => {
  gw = await startTestGateway({
    secrets: 4,
    mock: { awsKeys: (id: string) => (id.startsWith("sk-mock-") ? `${id}-secret` : undefined) },
  });
  const origin = new URL(gw.mock.url).origin;
  const compatible = await gw.credential({ provider: "openai-compatible" });
  const bedrock = await gw.credential({
    provider: "bedrock",
    settings: { baseUrl: `${origin}/bedrock`, region: "us-east-1" },
    secret: (key) => JSON.stringify({ accessKeyId: key, secretAccessKey: `${key}-secret` }),
  });
  await gw.route("claude-compatible", [{ credentialId: compatible.id, upstreamModel: "mock-small" }]);
  await gw.route("claude-bedrock", [
    { credentialId: bedrock.id, upstreamModel: "anthropic.claude-3-5-sonnet-20240620-v1:0" },
  ]);
  client = new Anthropic({ baseURL: gw.worker.url, apiKey: gw.apiKey, maxRetries: 0 });
}, 90_000);

afterAll(async () => {
  await gw?.close();
});

describe.each(["claude-compatible", "claude-bedrock"])("Anthropic SDK → /v1/messages → %s", (model) => {
  it("holds a streaming tool-use conversation", async () => {
    const first = await client.messages
      .stream({ model, max_tokens: 256, tools: TOOLS, messages: [{ role: "user", content: "Look up mock" }] })
      .finalMessage();
    expect(first.stop_reason).toBe("tool_use");
    const use = first.content.find((b): b is Anthropic.ToolUseBlock => b.type === "tool_use");
    expect(use).toMatchObject({ name: "lookup", input: { query: "mock" } });
    expect(first.usage.output_tokens).toBeGreaterThan(0);

    const second = await client.messages
      .stream({
        model,
        max_tokens: 256,
        tools: TOOLS,
        messages: [
          { role: "user", content: "Look up mock" },
          { role: "assistant", content: first.content },
          {
            role: "user",
            content: [{ type: "tool_result", tool_use_id: use?.id ?? "", content: "found it" }],
          },
        ],
      })
      .finalMessage();
    expect(second.stop_reason).toBe("end_turn");
    const text = second.content.map((b) => (b.type === "text" ? b.text : "")).join("");
    expect(text).toBe(EXPECTED);
  });

  it("answers a non-streaming message", async () => {
    const message = await client.messages.create({
      model,
      max_tokens: 64,
      system: "Be brief.",
      messages: [{ role: "user", content: "Hello" }],
    });
    expect(message.type).toBe("message");
    expect(message.content).toEqual([{ type: "text", text: EXPECTED }]);
    expect(message.usage.input_tokens).toBeGreaterThan(0);
  });
});

describe("Anthropic-shaped errors", () => {
  it("answers an unknown model and a bad key with the SDK's typed errors", async () => {
    await expect(
      client.messages.create({ model: "nope", max_tokens: 5, messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(Anthropic.NotFoundError);
    const stranger = new Anthropic({ baseURL: gw.worker.url, apiKey: "lgw_wrong", maxRetries: 0 });
    await expect(
      stranger.messages.create({
        model: "claude-compatible",
        max_tokens: 5,
        messages: [{ role: "user", content: "x" }],
      }),
    ).rejects.toBeInstanceOf(Anthropic.AuthenticationError);
    await expect(
      client.messages.create({
        model: "claude-compatible",
        messages: [{ role: "user", content: "x" }],
      } as never),
    ).rejects.toBeInstanceOf(Anthropic.BadRequestError);
  });
});
