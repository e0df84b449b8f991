import { Redis } from "ioredis";
import type { Logger } from "../../../lib/src/logger.js";
import type { Queryable } from "../db/pool.js";
import type { ChangeFeed } from "./change-feed.js";
import { currentVersion } from "./change-log.js";

/** What a replica publishes after each local commit. */
export interface FanoutMessage {
  /** The routing-table version after the commit (0 when it could not be read). */
  version: number;
  /** LLM_GATEWAY_REPLICA_ID of the publisher; a replica ignores its own messages. */
  replica: string;
}

export interface RedisFanoutOptions {
  url: string;
  channel: string;
  replicaId: string;
  feed: ChangeFeed;
  /** Reads the version announced with each commit. */
  db: Queryable;
  log: Logger;
}

/** Change fan-out between control-plane replicas over Redis pub/sub. */
export interface RedisFanout {
  /** Resolves true once subscribed, false if `timeoutMs` passes first (it keeps trying). */
  ready(timeoutMs: number): Promise<boolean>;
  close(): Promise<void>;
}

/** The URL without user name or password, for logs. */
export function redactRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname === "/" ? "" : u.pathname}`;
  } catch {
    return "(unparseable REDIS_URL)";
  }
}

/**
 * Only the message: ioredis attaches the failed command (AUTH with its
 * password among the arguments) to errors, so the error object is never logged.
 */
function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/** Parses a message from the channel; undefined when it is not one of ours. */
export function parseFanoutMessage(raw: string): FanoutMessage | undefined {
  try {
    const m = JSON.parse(raw) as Partial<FanoutMessage> | null;
    if (typeof m?.replica !== "string" || typeof m.version !== "number") return undefined;
    return { version: m.version, replica: m.replica };
  } catch {
    return undefined;
  }
}

/**
 * Announces this replica's commits on `channel` and wakes the local
 * routing-table streams when another replica announces one. Two connections
 * (a subscribed connection cannot publish). Both reconnect on their own, with
 * ioredis' capped exponential backoff; losing Redis is logged once and
 * recovering once, and never stops the process: meanwhile the version poll
 * (LLM_GATEWAY_VERSION_POLL_MS) delivers changes.
 */
export function startRedisFanout(opts: RedisFanoutOptions): RedisFanout {
  const { channel, replicaId, feed, log } = opts;
  const where = { redis: redactRedisUrl(opts.url), channel, replica: replicaId };
  const name = `llm-gateway-cp:${replicaId}`;
  // The subscription waits for a connection however long it takes; publishes never queue.
  const sub = new Redis(opts.url, { connectionName: `${name}:sub`, maxRetriesPerRequest: null });
  const pub = new Redis(opts.url, {
    connectionName: `${name}:pub`,
    enableOfflineQueue: false,
    maxRetriesPerRequest: 0,
    commandTimeout: 2000,
  });

  let closing = false;
  let lost = false;
  let everReady = false;
  const healthy = () => sub.status === "ready" && pub.status === "ready";
  const onTrouble = (err?: unknown) => {
    if (closing || lost) return;
    lost = true;
    log.warn(
      { ...where, ...(err === undefined ? {} : { error: errorText(err) }) },
      everReady
        ? "redis change fan-out lost; reconnecting (the version poll delivers changes meanwhile)"
        : "redis change fan-out unavailable; retrying (the version poll delivers changes meanwhile)",
    );
  };
  const onReady = () => {
    if (closing || !healthy()) return;
    if (lost) log.info(where, "redis change fan-out reconnected");
    else if (!everReady) log.info(where, "redis change fan-out connected");
    lost = false;
    everReady = true;
  };
  for (const client of [sub, pub]) {
    // A lost or refused connection emits "error" (possibly) and then "close"; "close" decides.
    let lastError: unknown;
    client.on("error", (err: unknown) => {
      lastError = err;
    });
    client.on("close", () => {
      onTrouble(lastError);
      lastError = undefined;
    });
    client.on("ready", onReady);
  }

  let subscribed = false;
  const waiters = new Set<(ok: boolean) => void>();
  sub.subscribe(channel).then(
    () => {
      subscribed = true;
      for (const w of [...waiters]) w(true);
    },
    (err: unknown) => {
      if (!closing) log.warn({ ...where, error: errorText(err) }, "redis change fan-out could not subscribe");
    },
  );
  sub.on("message", (from: string, raw: string) => {
    if (from !== channel) return;
    const m = parseFanoutMessage(raw);
    if (!m) {
      log.debug(where, "ignored a malformed fan-out message");
      return;
    }
    if (m.replica !== replicaId) feed.wake();
  });

  feed.onLocalChange(() => {
    if (closing || pub.status !== "ready") return; // the version poll covers it
    void currentVersion(opts.db)
      .catch(() => 0)
      .then((version) => {
        const message: FanoutMessage = { version, replica: replicaId };
        return pub.publish(channel, JSON.stringify(message));
      })
      .catch((err: unknown) => {
        if (!closing) log.debug({ ...where, error: errorText(err) }, "fan-out publish failed");
      });
  });

  return {
    ready(timeoutMs) {
      if (subscribed) return Promise.resolve(true);
      return new Promise<boolean>((resolve) => {
        const done = (ok: boolean) => {
          clearTimeout(timer);
          waiters.delete(done);
          resolve(ok);
        };
        const timer = setTimeout(() => done(false), timeoutMs);
        waiters.add(done);
      });
    },
    async close() {
      closing = true;
      for (const w of [...waiters]) w(false);
      sub.disconnect();
      pub.disconnect();
    },
  };
}
