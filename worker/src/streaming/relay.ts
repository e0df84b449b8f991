import type { ServerResponse } from "node:http";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../http/errors.js";
import type { Keepalive } from "./keepalive.js";
import { PING } from "./keepalive.js";
import type { UpstreamStream } from "./upstream-stream.js";

export const SSE_HEADERS: Readonly<Record<string, string>> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache, no-transform",
  "x-accel-buffering": "no",
};

/** How a committed stream ended, for accounting. */
export interface RelayOutcome {
  status: number;
  code: string;
  errorClass: ErrorClass;
  /** performance.now() of the first bytes written to the client; 0 when none were. */
  firstByteAt: number;
}

const BROKEN_EVENT = `data: ${errorBody(
  "api_error",
  "the provider stream ended unexpectedly",
  "upstream_error",
)}\n\n`;

/** Resolves when the response can take more bytes, or the client has gone. */
function drained(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      res.off("drain", done);
      res.off("close", done);
      resolve();
    };
    res.on("drain", done);
    res.on("close", done);
  });
}

/**
 * Sends a committed stream to the client chunk by chunk as the provider
 * produces it (no buffering beyond one incomplete event), with backpressure
 * and keepalive pings. A stream that breaks after the commit cannot fail over:
 * it ends with an OpenAI-style error event (and no [DONE]).
 */
export async function relayStream(
  res: ServerResponse,
  stream: UpstreamStream,
  first: Buffer | string | null | undefined,
  pending: Promise<Buffer | string | null> | undefined,
  keepalive: Keepalive,
  signal: AbortSignal,
  brokenEvent: string = BROKEN_EVENT,
): Promise<RelayOutcome> {
  const outcome: RelayOutcome = { status: 200, code: "", errorClass: ErrorClass.UNSPECIFIED, firstByteAt: 0 };
  const ka = keepalive.add(res);
  try {
    let out = first;
    if (out === undefined) {
      // The provider is slow to its first event: commit with a ping so proxies keep the line open.
      res.write(PING);
      out = await (pending as Promise<Buffer | string | null>);
    }
    while (out !== null) {
      if (outcome.firstByteAt === 0) outcome.firstByteAt = performance.now();
      if (!res.write(out)) await drained(res);
      ka.touch();
      if (res.destroyed) break;
      out = await stream.next();
    }
    if (res.destroyed || signal.aborted) {
      stream.destroy();
      return { ...outcome, status: 499, code: "client_closed" };
    }
    res.end();
    const reported = stream.translator.failure();
    if (reported) return { ...outcome, status: 502, code: "upstream_error", errorClass: reported.errorClass };
    return outcome;
  } catch {
    stream.destroy();
    if (signal.aborted || res.destroyed) return { ...outcome, status: 499, code: "client_closed" };
    res.end(brokenEvent);
    return { ...outcome, status: 502, code: "upstream_error", errorClass: ErrorClass.UNAVAILABLE };
  } finally {
    ka.remove();
  }
}
