import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { authenticate } from "../providers/auth/index.js";
import { retryAfterMs } from "../providers/shared/classify.js";
import type { ProviderAdapter, UpstreamRequest } from "../providers/types.js";
import { type AttemptFailure, gatewayFailure } from "../routing/failures.js";
import type { CredentialRecord } from "../table/routing-table.js";
import type { BufferedResponse } from "./buffered.js";
import type { Pools } from "./pools.js";
import type { ReplyBody, StreamedResponse } from "./streamed.js";

/** Provider error bodies beyond this are not read (a proxy's HTML page can be large). */
const MAX_ERROR_BODY = 64 * 1024;

const TIMEOUT_CODES = new Set(["UND_ERR_HEADERS_TIMEOUT", "UND_ERR_CONNECT_TIMEOUT", "UND_ERR_BODY_TIMEOUT"]);
const UNREACHABLE_CODES = new Set([
  "UND_ERR_CONNECT",
  "ECONNREFUSED",
  "ENOTFOUND",
  "EAI_AGAIN",
  "ECONNRESET",
  "EHOSTUNREACH",
  "ENETUNREACH",
]);

export type CallResult =
  | { ok: true; response: StreamedResponse }
  | { ok: false; failure: AttemptFailure }
  | { ok: false; aborted: true };

export type BufferedCallResult =
  | { ok: true; response: BufferedResponse }
  | { ok: false; failure: AttemptFailure }
  | { ok: false; aborted: true };

/** A failure talking to the provider (connect, timeout, dropped body) as an attempt failure. */
export function networkFailure(err: unknown, provider: string): AttemptFailure {
  const code = (err as { code?: string }).code ?? "";
  if (TIMEOUT_CODES.has(code)) {
    return gatewayFailure(
      ErrorClass.TIMEOUT,
      "upstream_timeout",
      `provider ${provider} did not answer in time`,
    );
  }
  if (UNREACHABLE_CODES.has(code)) {
    return gatewayFailure(
      ErrorClass.UNAVAILABLE,
      "upstream_unreachable",
      `could not reach provider ${provider}`,
    );
  }
  return gatewayFailure(
    ErrorClass.UNAVAILABLE,
    "upstream_error",
    `the connection to provider ${provider} failed`,
  );
}

async function readCapped(body: ReplyBody): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk);
    size += chunk.length;
    if (size > MAX_ERROR_BODY) {
      body.destroy();
      break;
    }
  }
  return Buffer.concat(chunks, size);
}

/** An error an auth scheme throws (a token exchange refused or unreachable), with its class. */
export class AuthError extends Error {
  constructor(
    message: string,
    readonly errorClass: ErrorClass = ErrorClass.AUTH,
  ) {
    super(message);
  }
}

type Signing = { ok: true; signed: UpstreamRequest } | { ok: false; failure: AttemptFailure };

/** The failure of signing a request with a credential's auth scheme. */
function signingFailed(err: unknown, credential: CredentialRecord): Signing {
  const errorClass = err instanceof AuthError ? err.errorClass : ErrorClass.AUTH;
  const message = `could not authenticate with provider ${credential.provider.id}: ${(err as Error).message}`;
  return { ok: false, failure: gatewayFailure(errorClass, "upstream_auth_failed", message) };
}

/**
 * The request signed by the provider's auth scheme, or the failure of signing it. Header schemes
 * sign synchronously, and then so does this: the request goes out without a promise turn first.
 */
function sign(request: UpstreamRequest, credential: CredentialRecord): Signing | Promise<Signing> {
  try {
    const signed = authenticate(request, credential);
    if (!(signed instanceof Promise)) return { ok: true, signed };
    return signed.then(
      (s): Signing => ({ ok: true, signed: s }),
      (err: unknown) => signingFailed(err, credential),
    );
  } catch (err) {
    return signingFailed(err, credential);
  }
}

/** The signed request as undici's options, against the credential's base path. */
function upstreamRequest(
  credential: CredentialRecord,
  signed: UpstreamRequest,
  headersTimeout: number,
): Dispatcher.DispatchOptions {
  return {
    method: "POST",
    path: credential.basePath + signed.path,
    headers: signed.headers,
    body: signed.body,
    headersTimeout,
  };
}

/**
 * A provider's error reply as the attempt's failure, translated by the adapter. Provider auth
 * failures are never relayed: the client's own key is fine, and the provider's message may quote
 * part of the provider key.
 */
function providerError(
  adapter: ProviderAdapter,
  provider: string,
  status: number,
  raw: Buffer,
  headers: IncomingHttpHeaders,
): { ok: false; failure: AttemptFailure } {
  const translated = adapter.error(status, raw, headers);
  if (translated.errorClass === ErrorClass.AUTH) {
    return {
      ok: false,
      failure: gatewayFailure(
        ErrorClass.AUTH,
        "upstream_auth_failed",
        `provider ${provider} rejected the gateway's credential (HTTP ${status})`,
        status,
      ),
    };
  }
  return {
    ok: false,
    failure: {
      errorClass: translated.errorClass,
      status: translated.status,
      body: translated.body,
      code: "upstream_error",
      retryAfterMs: retryAfterMs(headers),
      upstreamStatus: status,
    },
  };
}

/** How a reply is read: as a body stream (`request`) or whole into memory (`requestBuffered`). */
interface ReplyReader<R extends { statusCode: number; headers: IncomingHttpHeaders }> {
  send(pools: Pools, origin: string, opts: Dispatcher.DispatchOptions, signal: AbortSignal): Promise<R>;
  /** An error reply's body (up to MAX_ERROR_BODY). */
  errorBody(reply: R): Promise<Buffer> | Buffer;
}

const STREAMED: ReplyReader<StreamedResponse> = {
  send: (pools, origin, opts, signal) => pools.requestStreamed(origin, opts, signal),
  errorBody: (reply) => readCapped(reply.body),
};

const BUFFERED: ReplyReader<BufferedResponse> = {
  send: (pools, origin, opts, signal) => pools.requestBuffered(origin, opts, signal, MAX_ERROR_BODY),
  errorBody: (reply) => reply.body,
};

/**
 * What a call of the provider takes: the pools, the target's credential and adapter, the request,
 * the client's signal, the cap on the wait for headers.
 */
type CallArgs = [
  pools: Pools,
  credential: CredentialRecord,
  adapter: ProviderAdapter,
  request: UpstreamRequest,
  signal: AbortSignal,
  headersTimeoutMs: number,
];

async function call<R extends { statusCode: number; headers: IncomingHttpHeaders }>(
  reader: ReplyReader<R>,
  ...[pools, credential, adapter, request, signal, headersTimeoutMs]: CallArgs
): Promise<
  { ok: true; response: R } | { ok: false; failure: AttemptFailure } | { ok: false; aborted: true }
> {
  const provider = credential.provider.id;
  const pending = sign(request, credential);
  const signing = pending instanceof Promise ? await pending : pending;
  if (!signing.ok) return signing;
  const { signed } = signing;
  let response: R;
  let raw: Buffer;
  try {
    response = await reader.send(
      pools,
      credential.origin,
      upstreamRequest(credential, signed, headersTimeoutMs),
      signal,
    );
    if (response.statusCode < 400) return { ok: true, response };
    raw = await reader.errorBody(response);
  } catch (err) {
    if (signal.aborted) return { ok: false, aborted: true };
    return { ok: false, failure: networkFailure(err, provider) };
  }
  return providerError(adapter, provider, response.statusCode, raw, response.headers);
}

/**
 * Sends one request to a credential's provider, authenticated by the
 * provider's auth style, and sorts the outcome: a response of status < 400
 * (the caller reads its body stream), a classified failure (network error,
 * timeout, provider error translated by the adapter), or aborted when the
 * client left (the only reason `signal` aborts).
 */
export const callUpstream = (...args: CallArgs): Promise<CallResult> => call(STREAMED, ...args);

/**
 * `callUpstream` for a reply the caller reads whole (a non-streaming chat
 * completion, embeddings): the body arrives in memory with the status, read
 * without a body stream (upstream/buffered.ts).
 */
export const callUpstreamBuffered = (...args: CallArgs): Promise<BufferedCallResult> =>
  call(BUFFERED, ...args);
