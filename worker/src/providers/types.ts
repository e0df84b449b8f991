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

/** Per-request stream state: sees each raw upstream chunk, returns the bytes to send the client. */
export interface StreamTranslator {
  transform(chunk: Buffer): Buffer | string;
  usage(): Usage | undefined;
}

/** A provider error translated for the client and for the routing engine. */
export interface TranslatedError {
  status: number;
  /** OpenAI-shaped JSON body; never contains the credential. */
  body: string;
}

/**
 * The adapter contract, one implementation per wire format. Core code only
 * talks to this interface; it never tests which provider it is.
 */
export interface ProviderAdapter {
  chatRequest(body: Record<string, unknown>, target: CompiledTarget): UpstreamRequest;
  /** Non-streaming response body → the OpenAI response body and usage. */
  chatResponse(body: Buffer): { body: Buffer | string; usage: Usage | undefined };
  chatStream(): StreamTranslator;
  error(status: number, body: Buffer): TranslatedError;
}
