/**
 * The live fault rules of one mock: validated rules compiled into
 * pre-serialised replies, matched first-wins against each API request, with
 * `times` counted down and expired rules removed.
 */
import { type FaultMalformed, type FaultRoute, type FaultRule, validateFaults } from "./faults.js";
import { errorShapeFor } from "./openai-shapes.js";

/** What a rule answers instead of a normal reply (stream faults ride on the normal stream instead). */
export type FaultOutcome =
  | { kind: "status"; status: number; headers: Readonly<Record<string, string | number>>; body: string }
  | { kind: "reset"; when: "before-headers" | "after-headers" }
  | { kind: "malformed"; what: FaultMalformed };

/** A validated rule ready for the hot path. */
export interface CompiledFault {
  /** The rule as validated, without `times`. */
  readonly rule: FaultRule;
  /** Requests left before the rule expires; Infinity for none. */
  remaining: number;
  readonly apiKey: string | undefined;
  readonly model: string | undefined;
  readonly stream: boolean | undefined;
  readonly route: FaultRoute | undefined;
  readonly outcome: FaultOutcome | undefined;
  /** Content chunks before a mid-stream reset or stream error; -1 when the rule has neither. */
  readonly afterChunks: number;
  /** The `data: {"error":...}` frame of `streamError`; undefined for a reset or no stream fault. */
  readonly errorFrame: string | undefined;
  readonly latencyMs: number | undefined;
  readonly chunks: number | undefined;
  readonly chunkIntervalMs: number | undefined;
}

function statusOutcome(rule: FaultRule, status: number): FaultOutcome {
  let body: string;
  let contentType = "application/json";
  if (rule.body !== undefined) {
    body = rule.body;
    try {
      JSON.parse(body);
    } catch {
      contentType = "text/html";
    }
  } else {
    const shape = errorShapeFor(status);
    body = JSON.stringify({
      error: {
        message: rule.message ?? `mock error ${status}`,
        type: rule.errorType ?? shape.type,
        param: null,
        code: rule.errorCode ?? shape.code,
      },
    });
  }
  const headers: Record<string, string | number> = {
    "content-type": contentType,
    "content-length": Buffer.byteLength(body),
  };
  if (rule.retryAfter !== undefined) headers["retry-after"] = rule.retryAfter;
  if (rule.retryAfterMs !== undefined) headers["retry-after-ms"] = String(rule.retryAfterMs);
  return { kind: "status", status, headers, body };
}

function compile(rule: FaultRule): CompiledFault {
  const { match, times, ...rest } = rule;
  let outcome: FaultOutcome | undefined;
  if (rule.status !== undefined) outcome = statusOutcome(rule, rule.status);
  else if (rule.reset === "before-headers" || rule.reset === "after-headers") {
    outcome = { kind: "reset", when: rule.reset };
  } else if (rule.malformed !== undefined) outcome = { kind: "malformed", what: rule.malformed };
  const streamError = rule.streamError;
  const streamFault = rule.reset === "mid-stream" || streamError !== undefined;
  return {
    rule: match === undefined ? rest : { match, ...rest },
    remaining: times ?? Number.POSITIVE_INFINITY,
    apiKey: match?.apiKey,
    model: match?.model,
    stream: match?.stream,
    route: match?.route,
    outcome,
    afterChunks: streamFault ? (rule.afterChunks ?? 1) : -1,
    errorFrame:
      streamError === undefined
        ? undefined
        : `data: ${JSON.stringify({
            error: {
              message: streamError.message ?? "mock stream error",
              type: streamError.type ?? "server_error",
              param: null,
              code: streamError.code ?? null,
            },
          })}\n\n`,
    latencyMs: rule.latencyMs,
    chunks: rule.chunks,
    chunkIntervalMs: rule.chunkIntervalMs,
  };
}

/** Fault rules of one mock provider. Callers check `rules.length` before `take` to keep the hot path free. */
export class FaultTable {
  /** Live rules in match order; replaced wholesale by `set`. */
  rules: CompiledFault[] = [];

  /** Validates and replaces all rules (nothing changes when validation throws); returns `list()`. */
  set(input: unknown): FaultRule[] {
    this.rules = validateFaults(input).map(compile);
    return this.list();
  }

  clear(): void {
    this.rules = [];
  }

  /** Copies of the live rules, `times` holding the requests each has left. */
  list(): FaultRule[] {
    return this.rules.map(({ rule, remaining }) => {
      const copy: FaultRule = structuredClone(rule);
      if (remaining !== Number.POSITIVE_INFINITY) copy.times = remaining;
      return copy;
    });
  }

  /** The first rule matching the request, counting down its `times` (and removing it at zero). */
  take(
    apiKey: string | undefined,
    model: string | undefined,
    stream: boolean,
    route: FaultRoute,
  ): CompiledFault | undefined {
    const rules = this.rules;
    for (let i = 0; i < rules.length; i++) {
      const fault = rules[i] as CompiledFault;
      if (fault.apiKey !== undefined && fault.apiKey !== apiKey) continue;
      if (fault.model !== undefined && fault.model !== model) continue;
      if (fault.stream !== undefined && fault.stream !== stream) continue;
      if (fault.route !== undefined && fault.route !== route) continue;
      if (--fault.remaining === 0) rules.splice(i, 1);
      return fault;
    }
    return undefined;
  }
}
