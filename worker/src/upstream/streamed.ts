import type { IncomingHttpHeaders } from "node:http";
import type { Dispatcher } from "undici";
import { ReplyHandler } from "./reply-handler.js";

/** A provider's reply body, chunk by chunk as undici parses it off the socket. */
export interface ReplyBody extends AsyncIterable<Buffer> {
  /** The next chunk; `done` once the reply ended; rejects when it broke or the signal aborted. */
  next(): Promise<IteratorResult<Buffer, undefined>>;
  /**
   * The next chunk when one is at hand without waiting: null once the reply ended, undefined when
   * none has arrived yet (or the reply broke: `next()` rejects with why).
   */
  read(): Buffer | null | undefined;
  /** Stops reading: the request is aborted and its connection closed (never reused mid-body). */
  destroy(): void;
}

/** A provider's reply whose body is read as it arrives (streams, audio). */
export interface StreamedResponse {
  readonly statusCode: number;
  /** Lower-case names; parsed from the raw headers on first read. */
  readonly headers: IncomingHttpHeaders;
  readonly body: ReplyBody;
}

/**
 * Bytes held for a reader that has fallen behind before undici stops reading the socket (what
 * `request()`'s body stream holds by default): a slow client slows the provider, not memory.
 */
export const HIGH_WATER_MARK = 64 * 1024;

const DONE: IteratorResult<Buffer, undefined> = { done: true, value: undefined };

/**
 * undici's dispatch handler that is itself the reply and its body: chunks go straight to a waiting
 * reader, or into a short queue (undici paused past HIGH_WATER_MARK, resumed as the reader takes
 * them). What `request()` does for a body read chunk by chunk, without its AsyncResource, Readable
 * and async iterator, so a stream's first bytes reach the relay a few event-loop steps sooner.
 */
class Streamer extends ReplyHandler implements StreamedResponse, ReplyBody {
  #queue: Buffer[] = [];
  #queued = 0;
  #error: Error | undefined;
  #reader:
    | { resolve: (r: IteratorResult<Buffer, undefined>) => void; reject: (e: unknown) => void }
    | undefined;
  #resume: (() => void) | undefined;
  #paused = false;
  #started: ((r: StreamedResponse) => void) | undefined;
  readonly #failStart: (err: unknown) => void;

  constructor(
    resolve: (r: StreamedResponse) => void,
    reject: (err: unknown) => void,
    signal: AbortSignal | undefined,
  ) {
    super(signal);
    this.#started = resolve;
    this.#failStart = reject;
  }

  get body(): ReplyBody {
    return this;
  }

  onHeaders(statusCode: number, headers: Buffer[], resume: () => void): boolean {
    if (statusCode < 200) return true;
    this.head(statusCode, headers);
    this.#resume = resume;
    const started = this.#started;
    this.#started = undefined;
    started?.(this);
    return true;
  }

  onData(chunk: Buffer): boolean {
    const reader = this.#reader;
    if (reader) {
      this.#reader = undefined;
      reader.resolve({ done: false, value: chunk });
      return true;
    }
    this.#queue.push(chunk);
    this.#queued += chunk.length;
    if (this.#queued < HIGH_WATER_MARK) return true;
    this.#paused = true;
    return false;
  }

  onComplete(): void {
    this.letGo();
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(DONE);
  }

  onError(err: Error): void {
    if (!this.letGo()) return;
    if (this.#started) {
      this.#started = undefined;
      this.#failStart(err);
      return;
    }
    this.#error = err;
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.reject(err);
  }

  next(): Promise<IteratorResult<Buffer, undefined>> {
    const chunk = this.#shift();
    if (chunk !== undefined) return Promise.resolve({ done: false, value: chunk });
    if (this.#error) return Promise.reject(this.#error);
    if (this.over) return Promise.resolve(DONE);
    return new Promise((resolve, reject) => {
      this.#reader = { resolve, reject };
    });
  }

  read(): Buffer | null | undefined {
    const chunk = this.#shift();
    if (chunk !== undefined || this.#error) return chunk;
    return this.over ? null : undefined;
  }

  /** The oldest queued chunk, resuming undici once the queue is short enough again. */
  #shift(): Buffer | undefined {
    const chunk = this.#queue.shift();
    if (chunk === undefined) return undefined;
    this.#queued -= chunk.length;
    if (this.#paused && this.#queued < HIGH_WATER_MARK) {
      this.#paused = false;
      this.#resume?.();
    }
    return chunk;
  }

  destroy(): void {
    if (!this.letGo()) return;
    this.#queue = [];
    const reader = this.#reader;
    this.#reader = undefined;
    reader?.resolve(DONE);
    this.abortRequest(new Error("the reply body was not read to its end"));
  }

  [Symbol.asyncIterator](): AsyncIterator<Buffer, undefined> {
    return {
      next: () => this.next(),
      return: () => {
        this.destroy();
        return Promise.resolve(DONE);
      },
    };
  }
}

/**
 * One request through `dispatcher`; resolves at the reply's headers with a body read as it
 * arrives. Rejects with undici's error (timeouts, connection failures), or the abort reason once
 * `signal` aborts; after the headers, those reject the body's next read instead.
 */
export function requestStreamed(
  dispatcher: Dispatcher,
  opts: Dispatcher.DispatchOptions,
  signal: AbortSignal | undefined,
): Promise<StreamedResponse> {
  return new Promise((resolve, reject) => {
    const streamer = new Streamer(resolve, reject, signal);
    streamer.dispatchOn(dispatcher, opts);
  });
}
