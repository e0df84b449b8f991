/**
 * What the mock answers, independent of the wire format: every native
 * protocol renders the same reply, so tests can expect the same text and tool
 * call whichever provider the gateway routed to.
 */
import { completionContent, contentPiece, tokensForChars } from "./openai-shapes.js";

/** A tool call the mock makes: to the first tool offered, with fixed arguments. */
export interface MockToolCall {
  /** Deterministic per request: `call_mock_<n>`. */
  id: string;
  name: string;
  arguments: Record<string, unknown>;
}

export interface MockReply {
  /** Streamed text pieces ("tok0", " tok1", ...); empty when the reply is a tool call. */
  pieces: string[];
  text: string;
  toolCalls: MockToolCall[];
  finish: "stop" | "tool_calls";
  promptTokens: number;
  completionTokens: number;
}

export const TOOL_ARGUMENTS = { query: "mock" } as const;

/**
 * The reply to a conversation: a tool call when tools are offered and the
 * last message is not a tool result (so a client that runs the tool and sends
 * the result back gets a text answer), else `chunkCount` text pieces.
 * `promptChars` counts the characters of the conversation (usage).
 */
export function mockReply(
  promptChars: number,
  toolNames: readonly string[],
  lastIsToolResult: boolean,
  chunkCount: number,
  seq: number,
): MockReply {
  const promptTokens = Math.max(1, tokensForChars(promptChars));
  const first = toolNames[0];
  if (first !== undefined && !lastIsToolResult) {
    return {
      pieces: [],
      text: "",
      toolCalls: [{ id: `call_mock_${seq}`, name: first, arguments: { ...TOOL_ARGUMENTS } }],
      finish: "tool_calls",
      promptTokens,
      completionTokens: 5,
    };
  }
  return {
    pieces: Array.from({ length: chunkCount }, (_, i) => contentPiece(i)),
    text: completionContent(chunkCount),
    toolCalls: [],
    finish: "stop",
    promptTokens,
    completionTokens: chunkCount,
  };
}
