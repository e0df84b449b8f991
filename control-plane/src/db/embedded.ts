import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../../../lib/src/logger.js";
import { servePglite } from "./pglite-server.js";

export interface EmbeddedPostgres {
  /** postgres:// URL of the loopback socket server. */
  url: string;
  close(): Promise<void>;
}

/**
 * Runs PGlite (Postgres compiled to WASM) with its data in `dataDir` and
 * serves it on a loopback port (pglite-server.ts), so the same `pg` code and
 * migrations run unchanged against it.
 */
export async function startEmbeddedPostgres(
  dataDir: string,
  log: Logger,
  port = 0,
): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = await servePglite(db, "127.0.0.1", port, log);
  return {
    url: `postgres://postgres@127.0.0.1:${server.port}/postgres?sslmode=disable`,
    async close() {
      await server.close();
      await db.close();
    },
  };
}
