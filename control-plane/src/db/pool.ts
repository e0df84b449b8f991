import pg from "pg";

export type Db = pg.Pool;
export type Tx = pg.PoolClient;
/** Anything that runs a query: the pool or a client inside a transaction. */
export type Queryable = Pick<pg.Pool, "query">;

// int8 (bigint) as JS number is safe for versions and counters below 2^53.
pg.types.setTypeParser(20, (v) => Number(v));
// date as "YYYY-MM-DD": a Date at local midnight would shift with the process time zone.
pg.types.setTypeParser(1082, (v) => v);

export interface PoolOptions {
  connectionString: string;
  max?: number;
}

/** Creates the pg pool. Connection errors on idle clients are logged by the caller. */
export function createPool({ connectionString, max = 10 }: PoolOptions): Db {
  return new pg.Pool({ connectionString, max, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
}

/**
 * Runs fn inside one transaction and commits, or rolls back on any error.
 * Isolation defaults to READ COMMITTED; snapshot readers ask for REPEATABLE READ.
 */
export async function withTransaction<T>(
  db: Db,
  fn: (tx: Tx) => Promise<T>,
  isolation: "READ COMMITTED" | "REPEATABLE READ" = "READ COMMITTED",
): Promise<T> {
  const client = await db.connect();
  try {
    await client.query(`BEGIN ISOLATION LEVEL ${isolation}`);
    const result = await fn(client);
    await client.query("COMMIT");
    return result;
  } catch (err) {
    await client.query("ROLLBACK").catch(() => undefined);
    throw err;
  } finally {
    client.release();
  }
}
