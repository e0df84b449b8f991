import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";

/** A provider's reply read whole. */
export interface BufferedResponse {
  statusCode: number;
  /** Lower-case names; parsed from the raw headers on first read (a 200 reply mostly needs none). */
  readonly headers: IncomingHttpHeaders;
  body: Buffer;
}

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

class Reply implements BufferedResponse {
  #raw: readonly Buffer[];
  #parsed: IncomingHttpHeaders | undefined;
  constructor(
    readonly statusCode: number,
    raw: readonly Buffer[],
    readonly body: Buffer,
  ) {
    this.#raw = raw;
  }
  get headers(): IncomingHttpHeaders {
    this.#parsed ??= parseRawHeaders(this.#raw);
    return this.#parsed;
  }
}

/**
 * Collects one response (undici's dispatch handler): the chunks as they come, no body stream.
 * A status of 400 or more is read up to `maxErrorBody` bytes, then the connection is dropped.
 */
class Collector implements Dispatcher.DispatchHandler {
  private statusCode = 0;
  private raw: Buffer[] = [];
  private chunks: Buffer[] = [];
  private size = 0;
  private settled = false;
  private abort: ((err?: Error) => void) | undefined;
  private readonly onAbort = () => this.abort?.(this.signal?.reason as Error);

  constructor(
    private readonly resolve: (r: BufferedResponse) => void,
    private readonly reject: (err: unknown) => void,
    private readonly signal: AbortSignal | undefined,
    private readonly maxErrorBody: number,
  ) {
    signal?.addEventListener("abort", this.onAbort, { once: true });
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abort = abort;
    if (this.signal?.aborted) this.onAbort();
  }

  onHeaders(statusCode: number, headers: Buffer[]): boolean {
    this.statusCode = statusCode;
    this.raw = headers;
    return true;
  }

  onData(chunk: Buffer): boolean {
    this.chunks.push(chunk);
    this.size += chunk.length;
    if (this.statusCode >= 400 && this.size > this.maxErrorBody) {
      this.finish();
      this.abort?.();
    }
    return true;
  }

  onComplete(): void {
    this.finish();
  }

  onError(err: Error): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    this.reject(err);
  }

  private finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.signal?.removeEventListener("abort", this.onAbort);
    const body =
      this.chunks.length === 1 ? (this.chunks[0] as Buffer) : Buffer.concat(this.chunks, this.size);
    this.resolve(new Reply(this.statusCode, this.raw, body));
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
    try {
      dispatcher.dispatch(opts, collector);
    } catch (err) {
      collector.onError(err as Error);
    }
  });
}
