import type { IncomingHttpHeaders } from "node:http";
import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { CompiledTarget } from "../table/compile.js";

/**
 * The adapter contract. One adapter per wire format (`worker/src/providers/<format>/`,
 * listed in registry.ts) translates between the gateway's client-facing
 * format (OpenAI's) and the provider's: requests, responses, streams and
 * errors. Adapters never authenticate (auth/ signs the built request by the
 * provider's auth style) and never test which vendor they talk to: vendor
 * differences are data on the provider's row (lib/src/provider-catalog.ts).
 */

/** Token counts reported by a provider, in OpenAI's sense (prompt tokens include cached ones). */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

/** What to send upstream: a POST to the credential's base URL + `path`. */
export interface UpstreamRequest {
  /** Path and query under the credential's base URL (see providers/shared/paths.ts). */
  path: string;
  headers: Record<string, string>;
  body: string | Uint8Array;
}

/** What an adapter knows about the call it translates. */
export interface CallContext {
  /** The credential (provider row, settings) and the upstream model. */
  target: CompiledTarget;
  stream: boolean;
}

/**
 * Per-request stream state: sees each raw upstream chunk (SSE text, or
 * binary frames for Bedrock) and returns OpenAI SSE bytes for the client:
 * whole events only (possibly empty while an event is incomplete).
 */
export interface StreamTranslator {
  transform(chunk: Buffer): Buffer | string;
  /**
   * Called when the upstream stream ends: the bytes still owed to the client
   * (an unterminated last event, the usage chunk, `data: [DONE]` when the
   * provider's format has no such marker).
   */
  end(): Buffer | string;
  usage(): Usage | undefined;
  /**
   * The error the provider reported inside the stream (an error event, a
   * first event that cannot be read), if any: before the first byte reached
   * the client the engine fails over on it; after, it is passed on and accounted.
   */
  failure(): TranslatedError | undefined;
}

export interface StreamOptions {
  /** Leave out the usage-only chunk: the client did not ask for it (`stream_options.include_usage`). */
  stripUsage: boolean;
}

/** A provider error translated for the client and for the routing engine. */
export interface TranslatedError {
  status: number;
  /** OpenAI-shaped JSON body; never contains the credential. */
  body: string;
  /** What the routing engine does about it: retry, skip the credential, fall back or return. */
  errorClass: ErrorClass;
}

/** A translated response body and the usage read from it. */
export interface TranslatedBody {
  body: Buffer | string;
  usage: Usage | undefined;
}

/** `POST /v1/chat/completions`. */
export interface ChatAdapter {
  /**
   * The provider request for an OpenAI chat request. Must not modify `body`:
   * the engine may send it to several targets. Streams always ask the
   * provider for usage (the gateway needs it; the translator strips it again).
   */
  request(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest;
  /** Provider reply → OpenAI `chat.completion`; undefined when it cannot be read (a malformed reply). */
  response(body: Buffer, ctx: CallContext): TranslatedBody | undefined;
  stream(ctx: CallContext, options: StreamOptions): StreamTranslator;
}

/** `POST /v1/embeddings`. */
export interface EmbeddingsAdapter {
  /** One or more provider requests (a provider taking one input per call gets one per input). */
  request(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest[];
  /**
   * The replies, in request order, and the client's request (for its
   * `encoding_format` and inputs) → OpenAI `list` of embeddings; undefined
   * when unreadable.
   */
  response(bodies: Buffer[], ctx: CallContext, request: Record<string, unknown>): TranslatedBody | undefined;
}

/** `POST /v1/audio/speech`: the audio passes through as the provider streams it. */
export interface SpeechAdapter {
  request(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest;
  /** Content type for the client, from the provider's headers and the requested format. */
  contentType(upstream: IncomingHttpHeaders, body: Record<string, unknown>): string;
}

export interface ProviderAdapter {
  chat?: ChatAdapter;
  embeddings?: EmbeddingsAdapter;
  speech?: SpeechAdapter;
  /** A provider error (status ≥ 400) → the client's error and the engine's class. */
  error(status: number, body: Buffer, headers: IncomingHttpHeaders): TranslatedError;
}
