import type { Dispatcher } from "undici";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { authenticate } from "../providers/auth/index.js";
import { retryAfterMs } from "../providers/shared/classify.js";
import type { ProviderAdapter, UpstreamRequest } from "../providers/types.js";
import { type AttemptFailure, gatewayFailure } from "../routing/failures.js";
import type { CredentialRecord } from "../table/routing-table.js";
import type { Pools } from "./pools.js";

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
  | { ok: true; response: Dispatcher.ResponseData }
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

async function readCapped(body: Dispatcher.ResponseData["body"]): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    chunks.push(chunk as Buffer);
    size += (chunk as Buffer).length;
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

/**
 * Sends one request to a credential's provider, authenticated by the
 * provider's auth style, and sorts the outcome: a response of status < 400
 * (the caller reads it), a classified failure (network error, timeout,
 * provider error translated by the adapter), or aborted when the client left
 * (the only reason `signal` aborts). Provider auth failures are never
 * relayed: the client's own key is fine, and the provider's message may quote
 * part of the provider key.
 */
export async function callUpstream(
  pools: Pools,
  credential: CredentialRecord,
  adapter: ProviderAdapter,
  request: UpstreamRequest,
  signal: AbortSignal,
  headersTimeoutMs: number,
): Promise<CallResult> {
  const provider = credential.provider.id;
  let signed: UpstreamRequest;
  try {
    signed = await authenticate(request, credential);
  } catch (err) {
    const errorClass = err instanceof AuthError ? err.errorClass : ErrorClass.AUTH;
    const message = `could not authenticate with provider ${provider}: ${(err as Error).message}`;
    return { ok: false, failure: gatewayFailure(errorClass, "upstream_auth_failed", message) };
  }
  let response: Dispatcher.ResponseData;
  try {
    response = await pools.request(credential.origin, {
      method: "POST",
      path: credential.basePath + signed.path,
      headers: signed.headers,
      body: signed.body,
      signal,
      headersTimeout: headersTimeoutMs,
    });
  } catch (err) {
    if (signal.aborted) return { ok: false, aborted: true };
    return { ok: false, failure: networkFailure(err, provider) };
  }
  const status = response.statusCode;
  if (status < 400) return { ok: true, response };

  let raw: Buffer;
  try {
    raw = await readCapped(response.body);
  } catch (err) {
    if (signal.aborted) return { ok: false, aborted: true };
    return { ok: false, failure: networkFailure(err, provider) };
  }
  const translated = adapter.error(status, raw, response.headers);
  const retryAfter = retryAfterMs(response.headers);
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
      retryAfterMs: retryAfter,
      upstreamStatus: status,
    },
  };
}
