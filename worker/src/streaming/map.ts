import type { UpstreamStream } from "./upstream-stream.js";

/** Text bytes of a stream chunk. */
const text = (b: Buffer | string) => (typeof b === "string" ? b : b.toString("utf8"));

/**
 * A stream whose client bytes go through `convert` (an ingress speaking
 * another client protocol), with `end` adding what is owed when the
 * underlying stream ends. Usage and failures still come from the underlying
 * translator.
 */
export function mapStream(
  stream: UpstreamStream,
  convert: (s: string) => string,
  end: () => string,
): UpstreamStream {
  let ended = false;
  return {
    translator: stream.translator,
    async next() {
      while (!ended) {
        const out = await stream.next();
        if (out === null) {
          ended = true;
          const rest = end();
          return rest === "" ? null : rest;
        }
        const converted = convert(text(out));
        if (converted !== "") return converted;
      }
      return null;
    },
    destroy: () => stream.destroy(),
  };
}

/** The first bytes of a committed stream, converted the same way (see mapStream). */
export function mapFirst(
  first: Buffer | string | null | undefined,
  convert: (s: string) => string,
): Buffer | string | null | undefined {
  return first === null || first === undefined ? first : convert(text(first));
}
