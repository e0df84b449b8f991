import type { Dispatcher, Pool } from "undici";
import UndiciPool from "undici/lib/dispatcher/pool.js";
import { type BufferedResponse, requestBuffered } from "./buffered.js";
import { requestStreamed, type StreamedResponse } from "./streamed.js";

export interface PoolOptions {
  connectionsPerOrigin: number;
  connectTimeoutMs: number;
  /** Time to response headers (includes the provider's queueing and prompt processing). */
  headersTimeoutMs: number;
  /** Longest silence between body chunks. */
  bodyTimeoutMs: number;
}

/** Keep-alive connection pools, one per upstream origin, created on first use. */
export interface Pools {
  get(origin: string): Pool;
  /** A request through the origin's pool, its reply's body read as it arrives (upstream/streamed.ts). */
  requestStreamed(
    origin: string,
    opts: Dispatcher.DispatchOptions,
    signal: AbortSignal | undefined,
  ): Promise<StreamedResponse>;
  /** A request through the origin's pool, its reply read whole (upstream/buffered.ts). */
  requestBuffered(
    origin: string,
    opts: Dispatcher.DispatchOptions,
    signal: AbortSignal | undefined,
    maxErrorBody: number,
  ): Promise<BufferedResponse>;
  readonly options: PoolOptions;
  close(): Promise<void>;
}

export function createPools(options: PoolOptions): Pools {
  const pools = new Map<string, Pool>();
  const get = (origin: string): Pool => {
    let pool = pools.get(origin);
    if (!pool) {
      pool = new UndiciPool(origin, {
        connections: options.connectionsPerOrigin,
        pipelining: 1,
        keepAliveTimeout: 30_000,
        connect: { timeout: options.connectTimeoutMs },
        headersTimeout: options.headersTimeoutMs,
        bodyTimeout: options.bodyTimeoutMs,
      });
      pools.set(origin, pool);
    }
    return pool;
  };
  return {
    options,
    get,
    requestStreamed: (origin, opts, signal) => requestStreamed(get(origin), opts, signal),
    requestBuffered: (origin, opts, signal, maxErrorBody) =>
      requestBuffered(get(origin), opts, signal, maxErrorBody),
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
