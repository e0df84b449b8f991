import http from "node:http";
import type { AddressInfo } from "node:net";
import Anthropic from "@anthropic-ai/sdk";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { FaultTable } from "../fault-table.js";
import { resolveOptions } from "../plan.js";
import { type MockProvider, startMockProvider } from "../server.js";
import { RequestStats } from "../stats.js";
import { serveAnthropicMessages } from "./anthropic.js";

const KEY = "sk-ant-mock";
const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS = [{ name: "lookup", input_schema: { type: "object" as const, properties: {} } }];
const messages = [{ role: "user" as const, content: "hello world!" }]; // 12 chars -> 3 input tokens

let mock: MockProvider;
let origin: string;
let client: Anthropic;

beforeAll(async () => {
  mock = await startMockProvider({ apiKeys: [KEY] });
  origin = new URL(mock.url).origin;
  client = new Anthropic({ baseURL: `${origin}/anthropic`, apiKey: KEY, maxRetries: 0 });
});
afterAll(() => mock.close());
afterEach(() => mock.clearFaults());

/** A raw POST to the Messages endpoint. */
function post(body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${origin}/anthropic/v1/messages`, {
    method: "POST",
    headers: { "x-api-key": KEY, "anthropic-version": "2023-06-01", ...headers },
    body: JSON.stringify(body),
  });
}

/** The `event:` names of an SSE text, in order. */
const eventNames = (text: string) => [...text.matchAll(/^event: (\S+)$/gm)].map((m) => m[1]);

describe("anthropic protocol", () => {
  it("answers a message with the mock's text and usage", async () => {
    const message = await client.messages.create({ model: "claude-mock", max_tokens: 64, messages });
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: "claude-mock",
      content: [{ type: "text", text: EIGHT }],
      stop_reason: "end_turn",
      usage: { input_tokens: 3, output_tokens: 8 },
    });
    expect(message.id).toMatch(/^msg_mock_\d+$/);
  });

  it("streams the full event sequence, which the official SDK assembles into the same message", async () => {
    const res = await post({ model: "claude-mock", max_tokens: 64, messages, stream: true });
    expect(res.headers.get("content-type")).toBe("text/event-stream");
    const text = await res.text();
    expect(eventNames(text)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      ...Array(8).fill("content_block_delta"),
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    for (const block of text.split("\n\n").filter(Boolean)) {
      const [name, data] = block.split("\n");
      expect(JSON.parse(data?.slice(6) ?? "").type).toBe(name?.slice(7));
    }
    const final = await client.messages
      .stream({ model: "claude-mock", max_tokens: 64, messages })
      .finalMessage();
    expect(final.content).toMatchObject([{ type: "text", text: EIGHT }]);
    expect(final.usage.output_tokens).toBe(8);
  });

  it("calls the first tool, streamed as input_json_delta fragments, and answers its result with text", async () => {
    const plain = await client.messages.create({ model: "m", max_tokens: 64, messages, tools: TOOLS });
    expect(plain.stop_reason).toBe("tool_use");
    const [call] = plain.content;
    expect(call).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "mock" } });
    const streamed = await client.messages
      .stream({ model: "m", max_tokens: 64, messages, tools: TOOLS })
      .finalMessage();
    expect(streamed.content[0]).toMatchObject({ type: "tool_use", name: "lookup", input: { query: "mock" } });
    expect(streamed.stop_reason).toBe("tool_use");

    const id = call?.type === "tool_use" ? call.id : "";
    const answer = await client.messages.create({
      model: "m",
      max_tokens: 64,
      tools: TOOLS,
      messages: [
        ...messages,
        { role: "assistant", content: plain.content },
        { role: "user", content: [{ type: "tool_result", tool_use_id: id, content: "found" }] },
      ],
    });
    expect(answer.content).toEqual([{ type: "text", text: EIGHT }]);
  });

  it("rejects a wrong key with 401 and a missing anthropic-version with 400, in Anthropic's shape", async () => {
    const before = mock.stats().total;
    const wrong = new Anthropic({ baseURL: `${origin}/anthropic`, apiKey: "sk-wrong", maxRetries: 0 });
    await expect(wrong.messages.create({ model: "m", max_tokens: 8, messages })).rejects.toBeInstanceOf(
      Anthropic.AuthenticationError,
    );
    const res = await post({ model: "m", max_tokens: 8, messages }, { "anthropic-version": "" });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { type: string; error: { type: string; message: string } };
    expect(body).toMatchObject({ type: "error", error: { type: "invalid_request_error" } });
    expect(body.error.message).toContain("anthropic-version");
    expect(mock.stats().total).toBe(before);
  });

  it("answers a status fault in Anthropic's shape with the rule's message and retry headers", async () => {
    mock.setFaults([
      { match: { model: "busy" }, status: 429, message: "slow down", retryAfter: "3", retryAfterMs: 2500 },
      { match: { model: "overloaded" }, status: 529 },
    ]);
    const res = await post({ model: "busy", max_tokens: 8, messages });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("3");
    expect(res.headers.get("retry-after-ms")).toBe("2500");
    expect(await res.json()).toMatchObject({
      type: "error",
      error: { type: "rate_limit_error", message: "slow down" },
    });
    const overloaded = await post({ model: "overloaded", max_tokens: 8, messages });
    expect(overloaded.status).toBe(529);
    expect(await overloaded.json()).toMatchObject({
      error: { type: "overloaded_error", message: "mock error 529" },
    });
    expect(mock.stats().byKey[KEY]).toBeGreaterThanOrEqual(2);
    expect(mock.stats().byModel.busy).toBe(1);
  });

  it("ends a stream with an Anthropic error event on a streamError fault", async () => {
    mock.setFaults([{ match: { stream: true }, streamError: { message: "Overloaded" }, afterChunks: 2 }]);
    const text = await (await post({ model: "m", max_tokens: 8, messages, stream: true })).text();
    expect(eventNames(text)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_delta",
      "error",
    ]);
    expect(text).toContain('{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}');
  });

  it("drops the connection on a before-headers reset", async () => {
    mock.setFaults([{ reset: "before-headers", times: 1 }]);
    await expect(post({ model: "m", max_tokens: 8, messages })).rejects.toThrow();
  });
});

describe("serveAnthropicMessages (reused for Claude on Vertex AI)", () => {
  it("answers a body without model, counting the model it is given", async () => {
    const stats = new RequestStats();
    let seq = 0;
    const env = { config: resolveOptions({}), faults: new FaultTable(), stats, nextSeq: () => ++seq };
    const server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () =>
        serveAnthropicMessages(
          { req, res, path: "/", query: new URLSearchParams(), body: Buffer.concat(chunks) },
          env,
          "token",
          "claude-sonnet-4-5@20250929",
        ),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const res = await fetch(`http://127.0.0.1:${port}/`, {
        method: "POST",
        body: JSON.stringify({ anthropic_version: "vertex-2023-10-16", max_tokens: 8, messages }),
      });
      expect(await res.json()).toMatchObject({
        model: "claude-sonnet-4-5@20250929",
        content: [{ type: "text", text: EIGHT }],
      });
      expect(stats.snapshot().byModel).toEqual({ "claude-sonnet-4-5@20250929": 1 });
    } finally {
      server.close();
    }
  });
});
