/**
 * Fault rules: failures configured on the mock at runtime (from code, over
 * HTTP at `/__mock/faults`, or with `--faults`) and matched against each
 * chat/embeddings request. A gateway under test does not forward its client's
 * `x-mock-*` headers, so these rules are how it is driven into failures.
 */
import { LIMITS } from "./plan.js";

/** API routes a rule can match. */
export type FaultRoute = "chat" | "embeddings" | "speech";
/** When the socket is destroyed: unanswered, after the 200 headers, or after some stream content. */
export type FaultReset = "before-headers" | "after-headers" | "mid-stream";
/** A 200 reply that cannot be parsed: truncated JSON, a non-JSON first SSE event, or no body. */
export type FaultMalformed = "json" | "sse" | "empty";

/** Which requests a rule applies to: every field that is set must equal the request's. */
export interface FaultMatch {
  /** The request's bearer token (`Authorization: Bearer <apiKey>`). */
  apiKey?: string | undefined;
  /** The request body's `model`. */
  model?: string | undefined;
  /** Whether the request is a streaming chat completion (`"stream": true`). */
  stream?: boolean | undefined;
  route?: FaultRoute | undefined;
}

/** The error event of `streamError`: `data: {"error":{message,type,param,code}}`. */
export interface FaultStreamError {
  /** Default "mock stream error". */
  message?: string | undefined;
  /** Default "server_error". */
  type?: string | undefined;
  /** Default null. */
  code?: string | undefined;
}

/**
 * One fault rule. At most one of `status`, `reset`, `malformed`, `streamError`
 * sets the outcome; a rule with none of them answers normally, with its timing.
 */
export interface FaultRule {
  match?: FaultMatch | undefined;
  /** Apply to the next N matching requests, then expire (default: forever). */
  times?: number | undefined;
  /** 400..599: answer with an OpenAI-shaped error body. */
  status?: number | undefined;
  /** Overrides the error body's `type` (default: by status, as `x-mock-status`). */
  errorType?: string | undefined;
  /** Overrides the error body's `code`. */
  errorCode?: string | undefined;
  /** Overrides the error body's `message` (default "mock error <status>"). */
  message?: string | undefined;
  /** Raw body instead of the OpenAI shape; `text/html` unless it parses as JSON. */
  body?: string | undefined;
  /** Sent verbatim as the `retry-after` header. */
  retryAfter?: string | undefined;
  /** Sent as the `retry-after-ms` header. */
  retryAfterMs?: number | undefined;
  reset?: FaultReset | undefined;
  /** Content chunks before a `mid-stream` reset or a `streamError` (default 1). */
  afterChunks?: number | undefined;
  malformed?: FaultMalformed | undefined;
  /** Streams: after `afterChunks` content chunks send an error event and end without `[DONE]`. */
  streamError?: FaultStreamError | undefined;
  /** Delay before response headers, in ms. */
  latencyMs?: number | undefined;
  /** Gap between streamed content chunks, in ms. */
  chunkIntervalMs?: number | undefined;
  /** Content chunks of the reply (and `completion_tokens`). */
  chunks?: number | undefined;
}

type Fields = Record<string, unknown>;

const RULE_FIELDS = [
  "match",
  "times",
  "status",
  "errorType",
  "errorCode",
  "message",
  "body",
  "retryAfter",
  "retryAfterMs",
  "reset",
  "afterChunks",
  "malformed",
  "streamError",
  "latencyMs",
  "chunkIntervalMs",
  "chunks",
] as const;
const MATCH_FIELDS = ["apiKey", "model", "stream", "route"] as const;
const STREAM_ERROR_FIELDS = ["message", "type", "code"] as const;
const OUTCOMES = ["status", "reset", "malformed", "streamError"] as const;
const STATUS_ONLY = ["errorType", "errorCode", "message", "body", "retryAfter", "retryAfterMs"] as const;

function show(value: unknown): string {
  const text =
    value === undefined || typeof value === "number"
      ? String(value)
      : (JSON.stringify(value) ?? String(value));
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function object(value: unknown, path: string, known: readonly string[]): Fields {
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    throw new TypeError(`${path} must be an object, got ${show(value)}`);
  }
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) {
      throw new TypeError(`${path}.${key} is not a known field (expected one of: ${known.join(", ")})`);
    }
  }
  return value as Fields;
}

function str(fields: Fields, key: string, path: string): string | undefined {
  const value = fields[key];
  if (value === undefined || typeof value === "string") return value;
  throw new TypeError(`${path}.${key} must be a string, got ${show(value)}`);
}

function int(fields: Fields, key: string, path: string, min: number, max: number): number | undefined {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value !== "number") throw new TypeError(`${path}.${key} must be a number, got ${show(value)}`);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${path}.${key} must be an integer between ${min} and ${max}, got ${value}`);
  }
  return value;
}

function oneOf<T extends string>(fields: Fields, key: string, path: string, values: readonly T[]) {
  const value = fields[key];
  if (value === undefined) return undefined;
  if (typeof value === "string" && (values as readonly string[]).includes(value)) return value as T;
  throw new RangeError(
    `${path}.${key} must be one of ${values.map((v) => `"${v}"`).join(", ")}, got ${show(value)}`,
  );
}

/** Drops undefined properties so stored and listed rules hold only what was set. */
function compact<T extends object>(value: T): T {
  for (const key of Object.keys(value) as (keyof T)[]) if (value[key] === undefined) delete value[key];
  return value;
}

function validateMatch(value: unknown, path: string): FaultMatch {
  const fields = object(value, path, MATCH_FIELDS);
  const stream = fields.stream;
  if (stream !== undefined && typeof stream !== "boolean") {
    throw new TypeError(`${path}.stream must be a boolean, got ${show(stream)}`);
  }
  const route = oneOf(fields, "route", path, ["chat", "embeddings", "speech"] as const);
  if (stream === true && route === "embeddings") {
    throw new RangeError(`${path}.stream: true never matches route "embeddings" (embeddings do not stream)`);
  }
  return compact({ apiKey: str(fields, "apiKey", path), model: str(fields, "model", path), stream, route });
}

function validateRule(value: unknown, path: string): FaultRule {
  const fields = object(value, path, RULE_FIELDS);
  const match = fields.match === undefined ? undefined : validateMatch(fields.match, `${path}.match`);
  const outcomes = OUTCOMES.filter((key) => fields[key] !== undefined);
  if (outcomes.length > 1) {
    throw new TypeError(`${path} sets ${outcomes.join(" and ")}: use at most one of ${OUTCOMES.join(", ")}`);
  }
  const status = int(fields, "status", path, 400, 599);
  const reset = oneOf(fields, "reset", path, ["before-headers", "after-headers", "mid-stream"] as const);
  const malformed = oneOf(fields, "malformed", path, ["json", "sse", "empty"] as const);
  let streamError: FaultStreamError | undefined;
  if (fields.streamError !== undefined) {
    const inner = object(fields.streamError, `${path}.streamError`, STREAM_ERROR_FIELDS);
    const at = `${path}.streamError`;
    streamError = compact({
      message: str(inner, "message", at),
      type: str(inner, "type", at),
      code: str(inner, "code", at),
    });
  }
  const retryAfter = str(fields, "retryAfter", path);
  if (retryAfter !== undefined && !/^[\x20-\x7e]+$/.test(retryAfter)) {
    throw new RangeError(`${path}.retryAfter must be non-empty printable ASCII, got ${show(retryAfter)}`);
  }
  const retryAfterMs = fields.retryAfterMs;
  if (retryAfterMs !== undefined && typeof retryAfterMs !== "number") {
    throw new TypeError(`${path}.retryAfterMs must be a number, got ${show(retryAfterMs)}`);
  }
  if (retryAfterMs !== undefined && !(retryAfterMs >= 0 && retryAfterMs < Number.POSITIVE_INFINITY)) {
    throw new RangeError(`${path}.retryAfterMs must be a finite number >= 0, got ${show(retryAfterMs)}`);
  }
  const rule: FaultRule = compact({
    match,
    times: int(fields, "times", path, 1, Number.MAX_SAFE_INTEGER),
    status,
    errorType: str(fields, "errorType", path),
    errorCode: str(fields, "errorCode", path),
    message: str(fields, "message", path),
    body: str(fields, "body", path),
    retryAfter,
    retryAfterMs,
    reset,
    afterChunks: int(fields, "afterChunks", path, 0, LIMITS.chunkCount),
    malformed,
    streamError,
    latencyMs: int(fields, "latencyMs", path, 0, LIMITS.latencyMs),
    chunkIntervalMs: int(fields, "chunkIntervalMs", path, 0, LIMITS.chunkIntervalMs),
    chunks: int(fields, "chunks", path, 0, LIMITS.chunkCount),
  });
  checkCombinations(rule, path);
  return rule;
}

function checkCombinations(rule: FaultRule, path: string): void {
  if (rule.status === undefined) {
    const stray = STATUS_ONLY.find((key) => rule[key] !== undefined);
    if (stray !== undefined) throw new TypeError(`${path}.${stray} needs status`);
  } else if (rule.body !== undefined) {
    const stray = (["errorType", "errorCode", "message"] as const).find((key) => rule[key] !== undefined);
    if (stray !== undefined) throw new TypeError(`${path}.${stray} cannot be combined with body`);
  }
  const streamFault = rule.reset === "mid-stream" || rule.streamError !== undefined;
  if (rule.afterChunks !== undefined && !streamFault) {
    throw new TypeError(`${path}.afterChunks needs reset "mid-stream" or streamError`);
  }
  const outcome = rule.status !== undefined || rule.reset !== undefined || rule.malformed !== undefined;
  if (outcome && !streamFault) {
    const pacing =
      rule.chunks !== undefined
        ? "chunks"
        : rule.chunkIntervalMs !== undefined
          ? "chunkIntervalMs"
          : undefined;
    if (pacing !== undefined) {
      throw new TypeError(
        `${path}.${pacing} only applies to replies with content (no status, reset or malformed)`,
      );
    }
  }
  if (streamFault || rule.malformed === "sse") {
    const kind =
      rule.streamError !== undefined
        ? "streamError"
        : rule.reset === "mid-stream"
          ? 'reset "mid-stream"'
          : 'malformed "sse"';
    if (rule.match?.stream !== true) {
      throw new TypeError(`${path}: ${kind} only applies to streams; set match.stream to true`);
    }
  }
}

/**
 * Validates fault rules from code, HTTP or a file. Returns normalised copies
 * (only the fields that were set); throws TypeError or RangeError naming the
 * bad field, e.g. `faults[1].status must be an integer between 400 and 599`.
 */
export function validateFaults(input: unknown): FaultRule[] {
  if (!Array.isArray(input)) throw new TypeError(`faults must be an array of rules, got ${show(input)}`);
  return input.map((rule, index) => validateRule(rule, `faults[${index}]`));
}
