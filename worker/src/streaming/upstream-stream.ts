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

/** An upstream stream that can also say what it has at hand without waiting. */
export interface UpstreamReader extends UpstreamStream {
  /**
   * What `next()` would resolve with, when that is known now (the bytes arrived with the
   * reply's head, as they mostly do): saves a timer and a race on a stream's first bytes.
   * Undefined when the next bytes have not arrived yet.
   */
  ready(): Buffer | string | null | undefined;
}

export function readUpstream(body: ReplyBody, translator: StreamTranslator): UpstreamReader {
  let ended = false;
  /** A chunk (null: the end) through the translator; undefined when it gave nothing to send yet. */
  const take = (chunk: Buffer | null): Buffer | string | null | undefined => {
    if (chunk === null) {
      ended = true;
      const rest = translator.end();
      return rest.length > 0 ? rest : null;
    }
    const out = translator.transform(chunk);
    return out.length > 0 ? out : undefined;
  };
  return {
    translator,
    async next() {
      while (!ended) {
        const r = await body.next();
        const out = take(r.done ? null : r.value);
        if (out !== undefined) return out;
      }
      return null;
    },
    ready() {
      while (!ended) {
        const chunk = body.read();
        if (chunk === undefined) return undefined;
        const out = take(chunk);
        if (out !== undefined) return out;
      }
      return null;
    },
    destroy() {
      ended = true;
      body.destroy();
    },
  };
}
