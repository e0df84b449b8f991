import { openaiUsage } from "../shared/json.js";
import { createSseSplitter, DONE_EVENT, eventData, MALFORMED_STREAM } from "../shared/sse.js";
import type { CallContext, StreamOptions, StreamTranslator, TranslatedError, Usage } from "../types.js";
import { googleError } from "./errors.js";
import {
  candidatesOf,
  finishReason,
  type GeminiResponse,
  partsOf,
  responseKey,
  textOf,
  toolCall,
  toolCallId,
  usageFrom,
} from "./response.js";

const EMPTY = "";
/** An event longer than this without its end is dropped (a runaway upstream). */
const MAX_PENDING = 1 << 22;

/** What one choice (candidate index) has been sent so far. */
interface ChoiceState {
  /** Its role chunk went out. */
  started: boolean;
  /** Its finish chunk went out. */
  finished: boolean;
  /** Function calls sent, for their OpenAI indexes. */
  calls: number;
}

/**
 * Gemini SSE (`data: <GenerateContentResponse>` events, no `[DONE]`) → OpenAI
 * chunks: a role chunk per choice, text deltas, each function call whole in
 * one delta (Gemini sends calls complete) with a minted id, a finish chunk,
 * then at the end the usage chunk (unless stripped; usage comes from the last
 * event carrying usageMetadata) and `data: [DONE]`. An `error` object in an
 * event is passed on as an OpenAI error event and reported as the failure; a
 * first event that is not JSON is a malformed reply.
 */
export function chatStream(ctx: CallContext, options: StreamOptions): StreamTranslator {
  const splitter = createSseSplitter(MAX_PENDING);
  let usage: Usage | undefined;
  let failure: TranslatedError | undefined;
  let head: string | undefined;
  let key = "";
  let checked = false;
  let sent = false;
  const choices = new Map<number, ChoiceState>();
  const created = Math.floor(Date.now() / 1000);

  const chunk = (index: number, delta: Record<string, unknown>, finish: string | null) =>
    `${head}[${JSON.stringify({ index, delta, finish_reason: finish })}]}\n\n`;

  /** The OpenAI events for one Gemini event. */
  function translate(parsed: GeminiResponse, raw: string): string {
    if (head === undefined) {
      key = responseKey(parsed, raw);
      const model = typeof parsed.modelVersion === "string" ? parsed.modelVersion : ctx.target.upstreamModel;
      head = `data: {"id":${JSON.stringify(`chatcmpl-${key}`)},"object":"chat.completion.chunk","created":${created},"model":${JSON.stringify(model)},"choices":`;
    }
    const u = usageFrom(parsed.usageMetadata);
    if (u) usage = u;
    let out = "";
    const candidates = candidatesOf(parsed);
    if (candidates.length === 0 && parsed.promptFeedback?.blockReason !== undefined && !choices.has(0)) {
      // A blocked prompt: no candidates at all, only the reason.
      choices.set(0, { started: true, finished: true, calls: 0 });
      out += chunk(0, { role: "assistant", content: "" }, null) + chunk(0, {}, "content_filter");
    }
    for (const [index, candidate] of candidates) {
      let state = choices.get(index);
      if (!state) {
        state = { started: false, finished: false, calls: 0 };
        choices.set(index, state);
      }
      if (state.finished) continue;
      if (!state.started) {
        out += chunk(index, { role: "assistant", content: "" }, null);
        state.started = true;
      }
      const parts = partsOf(candidate);
      const text = textOf(parts);
      if (text !== "") out += chunk(index, { content: text }, null);
      for (const part of parts) {
        if (typeof part.functionCall !== "object" || part.functionCall === null) continue;
        const n = state.calls++;
        const call = toolCall(part, toolCallId(part.functionCall, key, index, n));
        out += chunk(index, { tool_calls: [{ index: n, ...call }] }, null);
      }
      if (candidate.finishReason !== undefined && candidate.finishReason !== null) {
        out += chunk(index, {}, finishReason(candidate.finishReason, state.calls > 0));
        state.finished = true;
      }
    }
    return out;
  }

  /** Translates complete events. */
  function processEvents(events: readonly string[]): string {
    let out = "";
    for (const event of events) {
      if (failure) break;
      const data = eventData(event);
      if (data === "") continue;
      const first = !checked;
      checked = true;
      let parsed: unknown;
      try {
        parsed = JSON.parse(data);
      } catch {
        if (first) failure = MALFORMED_STREAM;
        continue;
      }
      // Some Google front ends wrap an error in an array.
      const value = Array.isArray(parsed) && parsed.length === 1 ? parsed[0] : parsed;
      if (typeof value !== "object" || value === null || Array.isArray(value)) {
        if (first) failure = MALFORMED_STREAM;
        continue;
      }
      if ("error" in value) {
        const status = Number((value as { error?: { code?: unknown } }).error?.code);
        failure = googleError(Number.isInteger(status) && status >= 400 ? status : 500, value);
        out += `data: ${failure.body}\n\n`;
        break;
      }
      out += translate(value as GeminiResponse, data);
    }
    if (out !== "") sent = true;
    return out;
  }

  return {
    transform(piece) {
      if (failure) return EMPTY;
      // A runaway unterminated event is dropped; the stream goes on.
      return processEvents(splitter.push(piece) ?? []);
    },
    end() {
      let out = "";
      const rest = splitter.rest();
      if (rest !== "" && !failure) out += processEvents([rest]);
      if (failure || !sent) return out;
      if (!options.stripUsage && usage) out += `${head}[],"usage":${JSON.stringify(openaiUsage(usage))}}\n\n`;
      return out + DONE_EVENT;
    },
    usage: () => usage,
    failure: () => failure,
  };
}
