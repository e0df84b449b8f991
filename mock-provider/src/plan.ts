/**
 * Server options and per-request `x-mock-*` header overrides, validated into
 * the plan one request follows.
 */
import type { IncomingHttpHeaders } from "node:http";
import type { CompiledFault, FaultOutcome } from "./fault-table.js";

export const LIMITS = {
  latencyMs: 600_000,
  chunkCount: 10_000,
  chunkIntervalMs: 60_000,
} as const;

export interface ResolvedOptions {
  host: string;
  port: number;
  latencyMs: number;
  chunkCount: number;
  chunkIntervalMs: number;
  errorRate: number;
  errorStatus: number;
  /** Accepted bearer tokens (`apiKey` and `apiKeys`); empty: no key check. */
  apiKeys: ReadonlySet<string>;
  /** The AWS secret access key of an access key id (SigV4, the Bedrock protocol); undefined: none set. */
  awsSecret: ((accessKeyId: string) => string | undefined) | undefined;
  /** Google service accounts the Vertex AI token endpoint accepts: client_email → SPKI public key PEM. */
  serviceAccounts: ReadonlyMap<string, string>;
  record: boolean;
}

/** AWS access keys a mock accepts: secret by access key id, or a function giving it (undefined: unknown key). */
export type AwsKeysOption = Readonly<Record<string, string>> | ((accessKeyId: string) => string | undefined);

export interface Plan {
  latencyMs: number;
  chunkCount: number;
  chunkIntervalMs: number;
  /** Status to answer with instead of a normal reply, from `x-mock-status` or `errorRate`. */
  errorStatus: number | undefined;
  /** Content chunks to send before destroying the socket (or sending `errorFrame`); -1 for none. */
  failAfterChunks: number;
  /** Stream error event sent at `failAfterChunks` to end the stream instead of destroying the socket. */
  errorFrame: string | undefined;
  /** A fault rule's reply in place of the normal one. */
  fault: FaultOutcome | undefined;
}

/** A bad `x-mock-*` header; answered with 400 naming the header. */
export class HeaderError extends Error {
  override readonly name = "HeaderError";
  constructor(
    readonly header: string,
    message: string,
  ) {
    super(message);
  }
}

interface OptionInput {
  host?: string | undefined;
  port?: number | undefined;
  latencyMs?: number | undefined;
  chunkCount?: number | undefined;
  chunkIntervalMs?: number | undefined;
  errorRate?: number | undefined;
  errorStatus?: number | undefined;
  apiKey?: string | undefined;
  apiKeys?: readonly string[] | undefined;
  awsKeys?: AwsKeysOption | undefined;
  serviceAccounts?: Readonly<Record<string, string>> | undefined;
  record?: boolean | undefined;
}

function awsSecretOf(keys: AwsKeysOption | undefined): ResolvedOptions["awsSecret"] {
  if (keys === undefined) return undefined;
  if (typeof keys === "function") return keys;
  if (typeof keys !== "object" || keys === null)
    throw new TypeError("awsKeys must be an object or a function");
  const map = new Map<string, string>();
  for (const [id, secret] of Object.entries(keys)) {
    if (id === "" || typeof secret !== "string" || secret === "") {
      throw new RangeError(`awsKeys[${JSON.stringify(id)}] must map a non-empty id to a non-empty secret`);
    }
    map.set(id, secret);
  }
  return (id) => map.get(id);
}

function optionInt(
  name: string,
  value: number | undefined,
  fallback: number,
  min: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${name} must be an integer between ${min} and ${max}, got ${value}`);
  }
  return value;
}

export function resolveOptions(options: OptionInput): ResolvedOptions {
  const errorRate = options.errorRate ?? 0;
  if (!Number.isFinite(errorRate) || errorRate < 0 || errorRate > 1) {
    throw new RangeError(`errorRate must be a number between 0 and 1, got ${errorRate}`);
  }
  if (options.apiKey === "") throw new RangeError("apiKey must not be empty");
  const apiKeys = new Set<string>();
  if (options.apiKey !== undefined) apiKeys.add(options.apiKey);
  if (options.apiKeys !== undefined) {
    if (!Array.isArray(options.apiKeys)) throw new TypeError("apiKeys must be an array of strings");
    options.apiKeys.forEach((key: unknown, index) => {
      if (typeof key !== "string" || key === "") {
        throw new RangeError(`apiKeys[${index}] must be a non-empty string, got ${JSON.stringify(key)}`);
      }
      apiKeys.add(key);
    });
  }
  const serviceAccounts = new Map<string, string>();
  if (options.serviceAccounts !== undefined) {
    const given: unknown = options.serviceAccounts;
    if (typeof given !== "object" || given === null || Array.isArray(given)) {
      throw new TypeError("serviceAccounts must be an object of client_email -> public key PEM");
    }
    for (const [email, pem] of Object.entries(given)) {
      if (typeof pem !== "string" || !pem.includes("PUBLIC KEY")) {
        throw new RangeError(`serviceAccounts[${JSON.stringify(email)}] must be an SPKI public key PEM`);
      }
      serviceAccounts.set(email, pem);
    }
  }
  return {
    host: options.host ?? "127.0.0.1",
    port: optionInt("port", options.port, 0, 0, 65_535),
    latencyMs: optionInt("latencyMs", options.latencyMs, 0, 0, LIMITS.latencyMs),
    chunkCount: optionInt("chunkCount", options.chunkCount, 8, 0, LIMITS.chunkCount),
    chunkIntervalMs: optionInt("chunkIntervalMs", options.chunkIntervalMs, 0, 0, LIMITS.chunkIntervalMs),
    errorRate,
    errorStatus: optionInt("errorStatus", options.errorStatus, 500, 400, 599),
    apiKeys,
    awsSecret: awsSecretOf(options.awsKeys),
    serviceAccounts,
    record: options.record ?? false,
  };
}

function headerInt(headers: IncomingHttpHeaders, name: string, fallback: number, min: number, max: number) {
  const raw = headers[name];
  if (raw === undefined) return fallback;
  const value = typeof raw === "string" && /^\d+$/.test(raw.trim()) ? Number(raw) : Number.NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new HeaderError(name, `${name} must be an integer between ${min} and ${max}, got "${String(raw)}"`);
  }
  return value;
}

/**
 * Deterministic error spreading: the nth API request (1-based) fails when the
 * running quota floor(n * rate) steps up, so 0.25 fails requests 4, 8, 12, ...
 */
export function failsAt(n: number, rate: number): boolean {
  return rate > 0 && Math.floor(n * rate + 1e-9) > Math.floor((n - 1) * rate + 1e-9);
}

/** The token of an `Authorization: Bearer <token>` header (scheme case-insensitive), else undefined. */
export function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined || header.length < 7) return undefined;
  return header.startsWith("Bearer ") || header.slice(0, 7).toLowerCase() === "bearer "
    ? header.slice(7)
    : undefined;
}

/** True when the request's own `x-mock-status` / `x-mock-fail-after-chunks` decides its outcome. */
export function overridesFaults(headers: IncomingHttpHeaders): boolean {
  return headers["x-mock-status"] !== undefined || headers["x-mock-fail-after-chunks"] !== undefined;
}

/**
 * Plan for one request. `apiRequest` is the 1-based count of chat/embeddings
 * requests (0 for others, which `errorRate` never fails). A matched fault rule
 * decides the outcome instead of `errorRate` and supplies timing defaults;
 * `x-mock-*` headers win over both. Throws HeaderError.
 */
export function planRequest(
  headers: IncomingHttpHeaders,
  config: ResolvedOptions,
  apiRequest: number,
  fault?: CompiledFault,
): Plan {
  let errorStatus: number | undefined;
  if (headers["x-mock-status"] !== undefined) {
    errorStatus = headerInt(headers, "x-mock-status", 0, 400, 599);
  } else if (fault === undefined && apiRequest > 0 && failsAt(apiRequest, config.errorRate)) {
    errorStatus = config.errorStatus;
  }
  const chunkCount = headerInt(
    headers,
    "x-mock-chunks",
    fault?.chunks ?? config.chunkCount,
    0,
    LIMITS.chunkCount,
  );
  return {
    latencyMs: headerInt(
      headers,
      "x-mock-latency-ms",
      fault?.latencyMs ?? config.latencyMs,
      0,
      LIMITS.latencyMs,
    ),
    chunkCount,
    chunkIntervalMs: headerInt(
      headers,
      "x-mock-chunk-interval-ms",
      fault?.chunkIntervalMs ?? config.chunkIntervalMs,
      0,
      LIMITS.chunkIntervalMs,
    ),
    errorStatus,
    // A rule's stream fault fires even when the reply has fewer chunks than afterChunks.
    failAfterChunks:
      fault === undefined || fault.afterChunks < 0
        ? headerInt(headers, "x-mock-fail-after-chunks", -1, 0, LIMITS.chunkCount)
        : Math.min(fault.afterChunks, chunkCount),
    errorFrame: fault?.errorFrame,
    fault: fault?.outcome,
  };
}
