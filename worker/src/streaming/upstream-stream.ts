import type { StreamTranslator } from "../providers/types.js";
import type { ReplyBody } from "../upstream/streamed.js";

/**
 * A provider stream read through its translator: `next()` resolves with the
 * next bytes for the client (never empty), or null once the provider ended
 * the stream, and rejects when the stream broke.
 */
export interface UpstreamStream {
  next(): Promise<Buffer | string | null>;
  readonly translator: StreamTranslator;
  /** Stops reading and releases the provider connection. */
  destroy(): void;
}

export function readUpstream(body: ReplyBody, translator: StreamTranslator): UpstreamStream {
  let ended = false;
  return {
    translator,
    async next() {
      while (!ended) {
        const r = await body.next();
        if (r.done) {
          ended = true;
          const rest = translator.end();
          return rest.length > 0 ? rest : null;
        }
        const out = translator.transform(r.value);
        if (out.length > 0) return out;
      }
      return null;
    },
    destroy() {
      ended = true;
      body.destroy();
    },
  };
}
