import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { CompiledTarget } from "../table/compile.js";

/** Token counts reported by a provider. */
export interface Usage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
}

/** What to send upstream, relative to the credential's base URL. */
export interface UpstreamRequest {
  path: string;
  headers: Record<string, string>;
  body: string;
}

/**
 * Per-request stream state: sees each raw upstream chunk and returns the
 * bytes to send the client (possibly empty while an event is incomplete).
 */
export interface StreamTranslator {
  transform(chunk: Buffer): Buffer | string;
  /** Bytes still held when the upstream stream ends (an unterminated last event). */
  end(): Buffer | string;
  usage(): Usage | undefined;
  /**
   * The error the provider reported inside the stream (an error event), if
   * any: before the first byte reached the client the engine fails over on
   * it; after, it is passed on and accounted.
   */
  failure(): TranslatedError | undefined;
}

export interface ChatOptions {
  /** Ask the provider to report usage on streams (the gateway always needs it). */
  includeUsage: boolean;
}

export interface StreamOptions {
  /** Remove the usage-only event the client did not ask for. */
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

/**
 * The adapter contract, one implementation per wire format. Core code only
 * talks to this interface; it never tests which provider it is.
 */
export interface ProviderAdapter {
  /** Must not modify `body`: the engine may send it to several targets. */
  chatRequest(body: Record<string, unknown>, target: CompiledTarget, options: ChatOptions): UpstreamRequest;
  /**
   * Non-streaming response body → the OpenAI response body and usage;
   * undefined when the body cannot be read (a malformed reply).
   */
  chatResponse(body: Buffer): { body: Buffer | string; usage: Usage | undefined } | undefined;
  chatStream(options: StreamOptions): StreamTranslator;
  error(status: number, body: Buffer): TranslatedError;
}
