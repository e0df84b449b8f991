import { Pool } from "undici";

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
  readonly options: PoolOptions;
  close(): Promise<void>;
}

export function createPools(options: PoolOptions): Pools {
  const pools = new Map<string, Pool>();
  return {
    options,
    get(origin) {
      let pool = pools.get(origin);
      if (!pool) {
        pool = new Pool(origin, {
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
    },
    async close() {
      await Promise.all([...pools.values()].map((p) => p.close()));
      pools.clear();
    },
  };
}
