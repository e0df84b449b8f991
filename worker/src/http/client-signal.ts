import { setMaxListeners } from "node:events";
import type { ServerResponse } from "node:http";
import type { Socket } from "node:net";

const SIGNAL = Symbol("llm-gateway.clientSignal");
type WithSignal = Socket & { [SIGNAL]?: AbortSignal };

/** A signal already aborted: the client left before the handler asked. */
function abortedSignal(): AbortSignal {
  const abort = new AbortController();
  abort.abort();
  return abort.signal;
}

/**
 * Aborts when the client goes away: when the connection of `res` closes. One signal per
 * connection, shared by the requests it carries one after the other (a keep-alive client, Envoy),
 * instead of an AbortController and a listener per request; a request that finished has removed
 * its listeners by then, so only requests still in flight hear the abort. A response is never
 * closed early with its connection left open (HTTP/1.1: ending one early destroys the socket), so
 * this aborts in the same cases as the response's own "close" before it finished.
 */
export function clientSignal(res: ServerResponse): AbortSignal {
  const socket = res.socket as WithSignal | null;
  if (!socket || socket.destroyed) return abortedSignal();
  let signal = socket[SIGNAL];
  if (signal === undefined) {
    const abort = new AbortController();
    signal = abort.signal;
    // each request in flight on the connection listens (pipelined requests: several at once)
    setMaxListeners(100, signal);
    socket.once("close", () => abort.abort());
    socket[SIGNAL] = signal;
  }
  return signal;
}
