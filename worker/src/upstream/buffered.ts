import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { ReplyHandler } from "./reply-handler.js";

const EMPTY = Buffer.alloc(0);

/** A provider's reply read whole. */
export interface BufferedResponse {
  statusCode: number;
  /** Lower-case names; parsed from the raw headers on first read (a 200 reply mostly needs none). */
  readonly headers: IncomingHttpHeaders;
  body: Buffer;
}

/**
 * Collects one response (undici's dispatch handler), and is it: the chunks as they come, no body
 * stream. A status of 400 or more is read up to `maxErrorBody` bytes, then the connection is dropped.
 */
class Collector extends ReplyHandler implements BufferedResponse {
  body: Buffer = EMPTY;
  #chunks: Buffer[] = [];
  #size = 0;

  constructor(
    private readonly resolve: (r: BufferedResponse) => void,
    private readonly reject: (err: unknown) => void,
    signal: AbortSignal | undefined,
    private readonly maxErrorBody: number,
  ) {
    super(signal);
  }

  onHeaders(statusCode: number, headers: Buffer[]): boolean {
    this.head(statusCode, headers);
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.#chunks.push(chunk);
    this.#size += chunk.length;
    if (this.statusCode >= 400 && this.#size > this.maxErrorBody) {
      this.#finish();
      this.abortRequest();
    }
    return true;
  }

  onComplete(): void {
    this.#finish();
  }

  onError(err: Error): void {
    if (!this.letGo()) return;
    this.reject(err);
  }

  #finish(): void {
    if (!this.letGo()) return;
    const chunks = this.#chunks;
    this.body = chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, this.#size);
    this.#chunks = [];
    this.resolve(this);
  }
}

/**
 * One request through `dispatcher`, its reply read whole into memory: what `request()` followed
 * by reading the body does, without its per-request AsyncResource, Readable body stream and
 * consume promise. Rejects with undici's error (timeouts, connection failures), or the abort
 * reason once `signal` aborts.
 */
export function requestBuffered(
  dispatcher: Dispatcher,
  opts: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
  maxErrorBody: number,
): Promise<BufferedResponse> {
  return new Promise((resolve, reject) => {
    const collector = new Collector(resolve, reject, signal, maxErrorBody);
    collector.dispatchOn(dispatcher, opts);
  });
}
