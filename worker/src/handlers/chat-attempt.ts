import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { ADAPTERS } from "../providers/registry.js";
import type { CallContext, Usage } from "../providers/types.js";
import type { AttemptResult } from "../routing/engine.js";
import { buildRequest, gatewayFailure, unsupportedFailure } from "../routing/failures.js";
import { readUpstream, type UpstreamStream } from "../streaming/upstream-stream.js";
import type { CompiledTarget } from "../table/compile.js";
import { callUpstream, callUpstreamBuffered, networkFailure } from "../upstream/call.js";
import type { Pools } from "../upstream/pools.js";

/** A complete non-streaming reply. */
export interface ChatReply {
  kind: "json";
  body: Buffer | string;
  usage: Usage | undefined;
  providerStart: number;
}

/**
 * A stream the provider accepted. `first` holds the first bytes for the
 * client when they arrived within the commit window; otherwise `pending`
 * resolves with them (or null) and the response is committed without them.
 */
export interface ChatStreamStart {
  kind: "stream";
  stream: UpstreamStream;
  first: Buffer | string | null | undefined;
  pending: Promise<Buffer | string | null> | undefined;
  providerStart: number;
}

export interface ChatAttemptOptions {
  pools: Pools;
  /** Cap on each attempt's wait for response headers. */
  headersTimeoutMs: number;
  /** How long a stream may stay silent before the gateway commits to it (and loses failover). */
  commitAfterMs: number;
}

type Settled<T> = { value: T } | { error: unknown } | undefined;

/** Waits for `p` at most `ms`; undefined when the time ran out first (p keeps going). */
function within<T>(p: Promise<T>, ms: number): Promise<Settled<T>> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      (value) => ({ value }),
      (error: unknown) => ({ error }),
    ),
    new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/**
 * One chat completion attempt against a target: builds the provider request
 * with the target's adapter, calls it, and reads enough of the answer to know
 * whether it worked: the whole body when not streaming; for streams, up to
 * the first bytes for the client, so that a provider failing before its first
 * event can still be failed over.
 */
export function chatAttempt(
  o: ChatAttemptOptions,
  body: Record<string, unknown>,
  stream: boolean,
  clientWantsUsage: boolean,
  signal: AbortSignal,
  deadline: number,
): (target: CompiledTarget) => Promise<AttemptResult<ChatReply | ChatStreamStart>> {
  return async (target) => {
    const { credential } = target;
    const adapter = ADAPTERS[credential.provider.wireFormat];
    const chat = adapter.chat;
    if (!chat)
      return { ok: false, failure: unsupportedFailure(credential.provider.id, "/v1/chat/completions") };
    const ctx: CallContext = { target, stream };
    const built = buildRequest(() => chat.request(body, ctx));
    if (!built.ok) return built;
    const request = built.value;
    const providerStart = performance.now();
    const headersTimeout = Math.max(1, Math.min(o.headersTimeoutMs, deadline - Date.now()));
    const provider = credential.provider.id;
    const malformed = (status: number) => ({
      ok: false as const,
      failure: gatewayFailure(
        ErrorClass.MALFORMED_RESPONSE,
        "upstream_malformed_response",
        `provider ${provider} answered HTTP ${status}`,
        status,
      ),
    });

    if (!stream) {
      const call = await callUpstreamBuffered(o.pools, credential, adapter, request, signal, headersTimeout);
      if (!call.ok) return call;
      const { response } = call;
      if (response.statusCode !== 200) return malformed(response.statusCode);
      const out = chat.response(response.body, ctx);
      if (!out) {
        return {
          ok: false,
          failure: gatewayFailure(
            ErrorClass.MALFORMED_RESPONSE,
            "upstream_malformed_response",
            `provider ${provider} sent a reply the gateway could not read`,
            200,
          ),
        };
      }
      return { ok: true, value: { kind: "json", body: out.body, usage: out.usage, providerStart } };
    }

    const call = await callUpstream(o.pools, credential, adapter, request, signal, headersTimeout);
    if (!call.ok) return call;
    const { response } = call;
    if (response.statusCode !== 200) {
      response.body.destroy();
      return malformed(response.statusCode);
    }
    const upstream = readUpstream(response.body, chat.stream(ctx, { stripUsage: !clientWantsUsage }));
    // Mostly the first bytes came with the head; otherwise wait for them, up to the commit window.
    const now = upstream.ready();
    const pending = now === undefined ? upstream.next() : undefined;
    const first = pending ? await within(pending, o.commitAfterMs) : { value: now ?? null };
    if (first === undefined) {
      return {
        ok: true,
        value: { kind: "stream", stream: upstream, first: undefined, pending, providerStart },
      };
    }
    if ("error" in first) {
      upstream.destroy();
      if (signal.aborted) return { ok: false, aborted: true };
      return { ok: false, failure: networkFailure(first.error, provider) };
    }
    const reported = upstream.translator.failure();
    if (first.value === null || reported) {
      upstream.destroy();
      const failure = reported
        ? {
            errorClass: reported.errorClass,
            status: reported.status,
            body: reported.body,
            code: "upstream_error",
            upstreamStatus: 200,
          }
        : gatewayFailure(
            ErrorClass.MALFORMED_RESPONSE,
            "upstream_malformed_response",
            `provider ${provider} ended the stream without an event`,
            200,
          );
      return { ok: false, failure };
    }
    return {
      ok: true,
      value: { kind: "stream", stream: upstream, first: first.value, pending: undefined, providerStart },
    };
  };
}
