import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";

/** Raw header lines as undici hands them over (name, value, name, value…) to a record. */
export function parseRawHeaders(raw: readonly Buffer[]): IncomingHttpHeaders {
  const out: Record<string, string | string[]> = {};
  for (let i = 0; i + 1 < raw.length; i += 2) {
    const name = (raw[i] as Buffer).toString("latin1").toLowerCase();
    const value = (raw[i + 1] as Buffer).toString("utf8");
    const had = out[name];
    if (had === undefined) out[name] = value;
    else if (Array.isArray(had)) had.push(value);
    else out[name] = [had, value];
  }
  return out as IncomingHttpHeaders;
}

/**
 * What the gateway's dispatch handlers for a provider's reply share (buffered.ts, streamed.ts):
 * each is itself the reply, with its status and its headers parsed from the raw lines on first
 * read (a 200 reply mostly needs none); the client's signal aborts the request until the reply is
 * over, and its listener goes then (the signal is the connection's, kept across its requests).
 * The listener is added once the request is on the wire: at one request in flight, the time the
 * provider takes to answer is free, the time before the request is sent is not.
 */
export abstract class ReplyHandler implements Dispatcher.DispatchHandler {
  statusCode = 0;
  #raw: readonly Buffer[] = [];
  #headers: IncomingHttpHeaders | undefined;
  #abort: ((err?: Error) => void) | undefined;
  #over = false;
  readonly #signal: AbortSignal | undefined;
  readonly #onAbort = () => this.#abort?.(this.#signal?.reason as Error);

  constructor(signal: AbortSignal | undefined) {
    this.#signal = signal;
  }

  /**
   * Sends the request with this handler, then listens to the signal (unless it is over already)
   * from a setImmediate: undici writes a request on an idle kept-alive connection from one
   * (GHSA-35p6-xmwp-9g52), queued during `dispatch`, so the listener is added after the request
   * is on the wire, not before.
   */
  dispatchOn(dispatcher: Dispatcher, opts: Dispatcher.DispatchOptions): void {
    try {
      dispatcher.dispatch(opts, this);
    } catch (err) {
      this.onError(err as Error);
    }
    if (this.#signal && !this.#over) setImmediate(this.#listen);
  }

  readonly #listen = () => {
    const signal = this.#signal;
    if (!signal || this.#over) return;
    // Aborted already: abort now if undici connected the request (else onConnect will).
    if (signal.aborted) this.#onAbort();
    else signal.addEventListener("abort", this.#onAbort, { once: true });
  };

  abstract onError(err: Error): void;

  get headers(): IncomingHttpHeaders {
    this.#headers ??= parseRawHeaders(this.#raw);
    return this.#headers;
  }

  onConnect(abort: (err?: Error) => void): void {
    this.#abort = abort;
    if (this.#signal?.aborted) this.#onAbort();
  }

  /** The status and raw header lines, from `onHeaders`. */
  protected head(statusCode: number, raw: readonly Buffer[]): void {
    this.statusCode = statusCode;
    this.#raw = raw;
  }

  /** Aborts the request: undici closes its connection (never reused mid-body). */
  protected abortRequest(err?: Error): void {
    this.#abort?.(err);
  }

  /** Whether the reply is over (ended, failed or given up). */
  protected get over(): boolean {
    return this.#over;
  }

  /** The reply is over: stops listening to the signal. False when it was over already. */
  protected letGo(): boolean {
    if (this.#over) return false;
    this.#over = true;
    this.#signal?.removeEventListener("abort", this.#onAbort);
    return true;
  }
}
