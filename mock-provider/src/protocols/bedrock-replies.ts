/**
 * What the mock's Bedrock protocol answers: Converse JSON, ConverseStream
 * event-stream frames and InvokeModel embeddings (Titan, Cohere), rendered
 * from the same `mockReply` as every other protocol.
 */
import type { ServerResponse } from "node:http";
import { type MockReply, mockReply } from "../content.js";
import { embeddingVector, tokensForChars } from "../openai-shapes.js";
import { eventFrame, exceptionFrame } from "./event-stream.js";

export const EVENT_STREAM_TYPE = "application/vnd.amazon.eventstream";

const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v);

/** Characters of the text blocks of a block list (text, and the text inside toolResult blocks). */
function blockChars(blocks: unknown): number {
  if (!Array.isArray(blocks)) return 0;
  let chars = 0;
  for (const b of blocks) {
    if (!isObject(b)) continue;
    if (typeof b.text === "string") chars += b.text.length;
    if (isObject(b.toolResult)) chars += blockChars(b.toolResult.content);
  }
  return chars;
}

/** The mock reply to a Converse body; a string naming the problem when the body is not one. */
export function converseReply(
  body: Record<string, unknown>,
  chunkCount: number,
  seq: number,
): MockReply | string {
  const { messages } = body;
  if (!Array.isArray(messages) || messages.length === 0) return "messages must be a non-empty list";
  let chars = blockChars(body.system);
  for (const m of messages) {
    if (!isObject(m) || (m.role !== "user" && m.role !== "assistant") || !Array.isArray(m.content)) {
      return "each message needs a role (user or assistant) and a content list";
    }
    chars += blockChars(m.content);
  }
  const last = messages[messages.length - 1] as { content: unknown[] };
  const lastIsToolResult = last.content.some((b) => isObject(b) && isObject(b.toolResult));
  const tools =
    isObject(body.toolConfig) && Array.isArray(body.toolConfig.tools) ? body.toolConfig.tools : [];
  const names = tools.flatMap((t: unknown) =>
    isObject(t) && isObject(t.toolSpec) && typeof t.toolSpec.name === "string" ? [t.toolSpec.name] : [],
  );
  return mockReply(chars, names, lastIsToolResult, chunkCount, seq);
}

const usageOf = (r: MockReply) => ({
  inputTokens: r.promptTokens,
  outputTokens: r.completionTokens,
  totalTokens: r.promptTokens + r.completionTokens,
});

const stopReason = (r: MockReply) => (r.finish === "tool_calls" ? "tool_use" : "end_turn");

/** The Converse JSON reply. */
export function converseJson(r: MockReply): string {
  const content =
    r.toolCalls.length > 0
      ? r.toolCalls.map((c) => ({ toolUse: { toolUseId: c.id, name: c.name, input: c.arguments } }))
      : [{ text: r.text }];
  return JSON.stringify({
    output: { message: { role: "assistant", content } },
    stopReason: stopReason(r),
    usage: usageOf(r),
    metrics: { latencyMs: 0 },
  });
}

/** Padding Bedrock adds to stream payloads (`p`, random there), here a function of the sequence. */
const pad = (seq: number) => `${"abcdefghijklmnopqrstuvwxyz".slice(0, 4 + (seq % 20))}${seq}`;

/** The frames of a ConverseStream reply: head, content (paced), tail. */
export interface StreamFrames {
  head: Buffer[];
  content: Buffer[];
  tail: Buffer[];
}

/** The frames of a reply: text pieces, or a tool call whose input JSON comes in two fragments. */
export function converseFrames(r: MockReply, seq: number): StreamFrames {
  const head = [eventFrame("messageStart", { role: "assistant", p: pad(seq) })];
  const content: Buffer[] = [];
  const call = r.toolCalls[0];
  if (call) {
    head.push(
      eventFrame("contentBlockStart", {
        contentBlockIndex: 0,
        start: { toolUse: { toolUseId: call.id, name: call.name } },
      }),
    );
    const input = JSON.stringify(call.arguments);
    const half = Math.ceil(input.length / 2);
    for (const fragment of [input.slice(0, half), input.slice(half)]) {
      content.push(
        eventFrame("contentBlockDelta", { contentBlockIndex: 0, delta: { toolUse: { input: fragment } } }),
      );
    }
  } else {
    for (const text of r.pieces) {
      content.push(eventFrame("contentBlockDelta", { contentBlockIndex: 0, delta: { text }, p: pad(seq) }));
    }
  }
  const tail = [
    eventFrame("contentBlockStop", { contentBlockIndex: 0 }),
    eventFrame("messageStop", { stopReason: stopReason(r) }),
    eventFrame("metadata", { usage: usageOf(r), metrics: { latencyMs: 0 }, p: pad(seq) }),
  ];
  return { head, content, tail };
}

/** A frame whose message CRC is wrong: the `malformed: "sse"` fault of the event-stream protocol. */
export function corruptFrame(): Buffer {
  const frame = eventFrame("messageStart", { role: "assistant" });
  frame.writeUInt32BE((frame.readUInt32BE(frame.length - 4) ^ 0xffffffff) >>> 0, frame.length - 4);
  return frame;
}

export interface StreamPlan {
  chunkIntervalMs: number;
  /** Content frames before failing; -1 for none. */
  failAfter: number;
  /** At the failure: an exception frame to end with; undefined destroys the socket instead. */
  exception: { type: string; message: string } | undefined;
}

/**
 * Writes the frames: head and first content frame together, then one content
 * frame per interval, then the tail. At `failAfter` content frames the
 * response ends with the exception frame, or the socket is destroyed.
 */
export function sendStream(res: ServerResponse, frames: StreamFrames, plan: StreamPlan): void {
  const { head, content, tail } = frames;
  const failAfter = plan.failAfter < 0 ? -1 : Math.min(plan.failAfter, content.length);
  let index = 0;
  let timer: NodeJS.Timeout | undefined;
  res.writeHead(200, { "content-type": EVENT_STREAM_TYPE });
  res.once("close", () => clearTimeout(timer));
  const pump = (): void => {
    const out: Buffer[] = index === 0 ? [...head] : [];
    for (;;) {
      if (index === failAfter) {
        if (plan.exception)
          res.end(Buffer.concat([...out, exceptionFrame(plan.exception.type, plan.exception.message)]));
        else if (out.length === 0) res.socket?.destroy();
        else res.write(Buffer.concat(out), () => res.socket?.destroy());
        return;
      }
      if (index === content.length) {
        res.end(Buffer.concat([...out, ...tail]));
        return;
      }
      out.push(content[index++] as Buffer);
      if (plan.chunkIntervalMs > 0 && index < content.length) break;
    }
    res.write(Buffer.concat(out));
    timer = setTimeout(pump, plan.chunkIntervalMs);
  };
  pump();
}

/**
 * The InvokeModel embeddings reply for a model family: Titan `{inputText}` →
 * `{embedding, inputTextTokenCount}`, Cohere `{texts, input_type}` →
 * `{embeddings}`; a string naming the problem otherwise.
 */
export function invokeReply(
  model: string,
  body: Record<string, unknown>,
  seq: number,
): { json: string; tokens: number } | string {
  const id = model.slice(model.lastIndexOf("/") + 1);
  if (/(^|\.)amazon\.titan-embed-/.test(id)) {
    if (typeof body.inputText !== "string") return "inputText must be a string";
    const tokens = tokensForChars(body.inputText.length);
    return {
      json: JSON.stringify({ embedding: embeddingVector(body.inputText), inputTextTokenCount: tokens }),
      tokens,
    };
  }
  if (/(^|\.)cohere\.embed-/.test(id)) {
    const { texts } = body;
    if (!Array.isArray(texts) || texts.length === 0 || !texts.every((t) => typeof t === "string")) {
      return "texts must be a non-empty list of strings";
    }
    if (typeof body.input_type !== "string") return "input_type is required";
    const tokens = tokensForChars(texts.reduce((n: number, t: string) => n + t.length, 0));
    const embeddings = texts.map((t: string) => embeddingVector(t));
    return {
      json: JSON.stringify({
        id: `mock-embed-${seq}`,
        response_type: "embeddings_floats",
        embeddings,
        texts,
      }),
      tokens,
    };
  }
  return `The provided model identifier is invalid: ${model} is not an embeddings model of the mock`;
}
