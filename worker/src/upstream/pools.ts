import type { Dispatcher, Pool } from "undici";
import undiciRequest from "undici/lib/api/api-request.js";
import UndiciPool from "undici/lib/dispatcher/pool.js";
import { type BufferedResponse, requestBuffered } from "./buffered.js";

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
  /** A request through the origin's pool (what `pool.request()` does with all of undici loaded). */
  request(origin: string, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
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
    request: (origin, opts) => undiciRequest.call(get(origin), opts),
    requestBuffered: (origin, opts, signal, maxErrorBody) =>
      requestBuffered(get(origin), opts, signal, maxErrorBody),
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
