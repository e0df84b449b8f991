import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { PGLiteSocketServer } from "@electric-sql/pglite-socket";

export interface EmbeddedPostgres {
  /** postgres:// URL of the loopback socket server. */
  url: string;
  close(): Promise<void>;
}

/**
 * Runs PGlite (Postgres compiled to WASM) with its data in `dataDir` and
 * serves it on a loopback port, so the same `pg` code and migrations run
 * unchanged against it. The socket server multiplexes connections onto the
 * single PGlite session and keeps each transaction on one connection.
 */
export async function startEmbeddedPostgres(dataDir: string, port = 0): Promise<EmbeddedPostgres> {
  await mkdir(dataDir, { recursive: true });
  const db = await PGlite.create({ dataDir });
  const server = new PGLiteSocketServer({ db, host: "127.0.0.1", port, maxConnections: 16 });
  await server.start();
  const address = server.getServerConn();
  const boundPort = Number(address.split(":").pop());
  return {
    url: `postgres://postgres@127.0.0.1:${boundPort}/postgres?sslmode=disable`,
    async close() {
      await server.stop();
      await db.close();
    },
  };
}
