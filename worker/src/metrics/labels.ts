import { createHash } from "node:crypto";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { MetricsConfig } from "../config.js";
import { ERROR_CODES } from "../http/errors.js";
import { className } from "../routing/actions.js";
import type { KeyRecord } from "../table/routing-table.js";

/**
 * Label values of the request metrics, each from a bounded set (see
 * docs/observability-metrics.md): nothing a client sends becomes a label
 * value unless the gateway's configuration already names it.
 */

/** End-to-end and provider durations, seconds: 5 ms to 5 min (LLM calls are long, streams longer). */
export const DURATION_BUCKETS = [
  0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 20, 30, 60, 120, 300,
] as const;
/** Time to first token of a stream, seconds. */
export const TTFT_BUCKETS = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 20, 30, 60] as const;
/** Gateway overhead (duration minus provider time), seconds: 0.5 ms to 1 s. */
export const OVERHEAD_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1] as const;

/** The `user` value once `LLM_GATEWAY_METRICS_MAX_USERS` distinct values are in use. */
export const OTHER_USER = "_other";
/** The `model` value of a request for a model its organization has no route for. */
export const UNKNOWN_MODEL = "_unknown";

/**
 * The `user` label of a key, per `LLM_GATEWAY_METRICS_USER_LABEL`: "on" the
 * user id (or `key:<api key id>` for keys without a user), "hashed" the first
 * 12 hex digits of its SHA-256, "off" "". After `maxUsers` distinct values
 * every new one is "_other". Values are remembered, so a request pays one Map
 * lookup (the hash is computed once per user).
 */
export function createUserLabels(
  config: Pick<MetricsConfig, "userLabel" | "maxUsers">,
): (key: KeyRecord) => string {
  if (config.userLabel === "off") return () => "";
  const seen = new Map<string, string>();
  const hashed = config.userLabel === "hashed";
  return (key) => {
    const raw = key.userId !== "" ? key.userId : `key:${key.id}`;
    const known = seen.get(raw);
    if (known !== undefined) return known;
    if (seen.size >= config.maxUsers) return OTHER_USER;
    const value = hashed ? createHash("sha256").update(raw).digest("hex").slice(0, 12) : raw;
    seen.set(raw, value);
    return value;
  };
}

/** The `error_class` label: the lower-case ErrorClass name, "none" for a failure without one. */
export function errorClassLabel(c: ErrorClass): string {
  return c === ErrorClass.UNSPECIFIED ? "none" : className(c);
}

/** Codes finish() can be called with: the worker's error table and the codes outside it. */
const KNOWN_CODES = new Set<string>([
  ...Object.keys(ERROR_CODES),
  "upstream_error",
  "upstream_stream_broken",
  "client_closed",
]);

/** The `code` label: a code of the worker's error table (a closed set), "other" for anything else. */
export function codeLabel(code: string): string {
  return KNOWN_CODES.has(code) ? code : code === "" ? "none" : "other";
}

/**
 * Codes of the gateway's own rate limits (policies); none exist yet, so every
 * rate-limited request is the provider's. When gateway limits are built, their
 * error codes go here and count with `source="gateway"`.
 */
const GATEWAY_LIMIT_CODES: ReadonlySet<string> = new Set<string>();

/**
 * Whose rate limit ended the request: "provider" for a 429 from upstream or
 * `upstream_rate_limited` (every credential cooling down after 429s),
 * "gateway" for the gateway's own limits, undefined when none did.
 */
export function rateLimitSource(status: number, code: string): "provider" | "gateway" | undefined {
  if (GATEWAY_LIMIT_CODES.has(code)) return "gateway";
  if (status === 429 || code === "upstream_rate_limited") return "provider";
  return undefined;
}
