import net from "node:net";
import type { PGlite } from "@electric-sql/pglite";
import type { Logger } from "../../../lib/src/logger.js";

const SSL_REQUEST = 80877103;
const CANCEL_REQUEST = 80877102;
const SYNC = 0x53; // 'S'
const QUERY = 0x51; // 'Q'
const FLUSH = 0x48; // 'H'
const TERMINATE = 0x58; // 'X'
const COPY_DONE = 0x63; // 'c'
const COPY_FAIL = 0x66; // 'f'
/** Frontend messages after which the backend answers: a unit of work ends there. */
const UNIT_END = new Set([SYNC, QUERY, FLUSH, COPY_DONE, COPY_FAIL]);

interface Connection {
  id: number;
  socket: net.Socket;
  buffer: Buffer;
  started: boolean;
  /** Complete messages of a unit of work whose end has not arrived yet. */
  pending: Buffer[];
  closed: boolean;
}

/** A unit of work to run, or the rollback of a client that left mid-transaction. */
type Job = { conn: Connection; unit: Buffer; flush: boolean } | { conn: Connection; rollback: true };

export interface PgliteServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves one PGlite session to several PostgreSQL wire-protocol clients (the
 * `pg` pool) on a loopback port. PGlite has a single backend session, so the
 * server runs one client's *unit of work* at a time: every message up to a
 * Sync (or a simple Query) goes to PGlite together, so one client's
 * Parse/Bind/Execute can never be split by another's (which clobbers the
 * unnamed prepared statement: pglite-socket 0.2 has this bug, electric-sql/
 * pglite#1046). While a client is inside a transaction (or flushed without a
 * Sync) only its units run; a client that disconnects mid-transaction is
 * rolled back.
 */
export async function servePglite(
  db: PGlite,
  host: string,
  port: number,
  log: Logger,
): Promise<PgliteServer> {
  const queue: Job[] = [];
  const sockets = new Set<net.Socket>();
  let owner: Connection | undefined;
  let running = false;
  let nextId = 1;

  async function run(job: Job): Promise<void> {
    if ("rollback" in job) {
      await db.exec("ROLLBACK"); // exec takes PGlite's own lock (runExclusive around it would deadlock)
      return;
    }
    const { conn, unit } = job;
    await db.runExclusive(() =>
      db.execProtocolRawStream(new Uint8Array(unit.buffer, unit.byteOffset, unit.length), {
        onRawData: (data) => {
          if (!conn.closed) conn.socket.write(data);
        },
      }),
    );
  }

  async function pump(): Promise<void> {
    if (running) return;
    running = true;
    try {
      while (queue.length > 0) {
        const at = owner ? queue.findIndex((j) => j.conn === owner) : 0;
        if (at === -1) break; // the session belongs to a client that has not sent its next unit yet
        const job = queue.splice(at, 1)[0] as Job;
        if (job.conn.closed && !("rollback" in job)) continue;
        try {
          await run(job);
        } catch (err) {
          log.error({ err }, "embedded PostgreSQL failed a request");
          job.conn.socket.destroy();
        }
        const flushed = "flush" in job && job.flush && !job.conn.closed;
        owner = db.isInTransaction() || flushed ? job.conn : undefined;
      }
    } finally {
      running = false;
    }
  }

  function enqueue(job: Job): void {
    queue.push(job);
    void pump();
  }

  function onData(conn: Connection, chunk: Buffer): void {
    conn.buffer = conn.buffer.length === 0 ? chunk : Buffer.concat([conn.buffer, chunk]);
    for (;;) {
      const buf = conn.buffer;
      if (!conn.started) {
        if (buf.length < 8) return;
        const length = buf.readInt32BE(0);
        if (buf.length < length) return;
        const code = buf.readInt32BE(4);
        conn.buffer = buf.subarray(length);
        if (code === SSL_REQUEST) conn.socket.write("N");
        else if (code !== CANCEL_REQUEST) {
          conn.started = true;
          enqueue({ conn, unit: buf.subarray(0, length), flush: false });
        }
        continue;
      }
      if (buf.length < 5) return;
      const length = 1 + buf.readInt32BE(1);
      if (buf.length < length) return;
      const message = buf.subarray(0, length);
      conn.buffer = buf.subarray(length);
      const type = message[0] as number;
      if (type === TERMINATE) {
        conn.socket.end();
        return;
      }
      conn.pending.push(message);
      if (UNIT_END.has(type)) {
        const unit = conn.pending.length === 1 ? message : Buffer.concat(conn.pending);
        conn.pending = [];
        enqueue({ conn, unit, flush: type === FLUSH });
      }
    }
  }

  const server = net.createServer((socket) => {
    socket.setNoDelay(true);
    sockets.add(socket);
    const conn: Connection = {
      id: nextId++,
      socket,
      buffer: Buffer.alloc(0),
      started: false,
      pending: [],
      closed: false,
    };
    socket.on("data", (chunk: Buffer) => onData(conn, chunk));
    socket.on("error", () => socket.destroy());
    socket.on("close", () => {
      conn.closed = true;
      sockets.delete(socket);
      if (owner === conn) enqueue({ conn, rollback: true });
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as net.AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
