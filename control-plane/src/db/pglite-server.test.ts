import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/src/logger.js";
import { type EmbeddedPostgres, startEmbeddedPostgres } from "./embedded.js";

let dir: string;
let embedded: EmbeddedPostgres;
let pool: pg.Pool;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "llmgw-pglite-server-"));
  embedded = await startEmbeddedPostgres(dir, createLogger("test", "warn"));
  pool = new pg.Pool({ connectionString: embedded.url, max: 8 });
  await pool.query("CREATE TABLE t (id int PRIMARY KEY, v text NOT NULL)");
}, 60_000);

afterAll(async () => {
  await pool?.end();
  await embedded?.close();
  await rm(dir, { recursive: true, force: true });
});

describe("embedded PostgreSQL server", () => {
  // Regression: pglite-socket interleaved one connection's Parse/Bind with another's
  // ("bind message supplies 2 parameters, but prepared statement \"\" requires 1").
  it("keeps concurrent parameterised queries of 8 connections apart", async () => {
    const loops = Array.from({ length: 8 }, async (_, n) => {
      for (let i = 0; i < 60; i++) {
        if (i % 2 === 0) {
          const { rows } = await pool.query<{ s: number }>("SELECT $1::int + 1 AS s", [n * 1000 + i]);
          expect(rows[0]?.s).toBe(n * 1000 + i + 1);
        } else {
          const { rows } = await pool.query<{ a: string; b: string }>("SELECT $1::text AS a, $2::text AS b", [
            `x${n}`,
            `y${i}`,
          ]);
          expect(rows[0]).toEqual({ a: `x${n}`, b: `y${i}` });
        }
      }
    });
    await Promise.all(loops);
  });

  it("isolates transactions: others wait, a rolled-back write is gone, a committed one stays", async () => {
    const a = await pool.connect();
    const b = await pool.connect();
    try {
      await a.query("BEGIN");
      await a.query("INSERT INTO t VALUES (1, 'uncommitted')");
      const reader = b.query<{ n: string }>("SELECT count(*) AS n FROM t");
      await a.query("ROLLBACK");
      expect(Number((await reader).rows[0]?.n)).toBe(0);
      await a.query("BEGIN");
      await a.query("INSERT INTO t VALUES (2, 'committed')");
      await a.query("COMMIT");
      expect((await b.query("SELECT v FROM t")).rows).toEqual([{ v: "committed" }]);
    } finally {
      a.release();
      b.release();
    }
  });

  it("rolls back a client that disconnects inside a transaction and keeps serving the others", async () => {
    const lone = new pg.Client({ connectionString: embedded.url });
    lone.on("error", () => {}); // its connection is cut below, on purpose
    await lone.connect();
    await lone.query("BEGIN");
    await lone.query("INSERT INTO t VALUES (3, 'abandoned')");
    const waiting = pool.query<{ v: string }>("SELECT v FROM t ORDER BY id");
    (lone as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
    expect((await waiting).rows).toEqual([{ v: "committed" }]);
  });
});
