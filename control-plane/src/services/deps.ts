import type { Logger } from "../../../lib/src/logger.js";
import type { ChangeFeed } from "../changes/change-feed.js";
import type { SecretBox } from "../crypto/envelope.js";
import { mapDbError } from "../db/errors.js";
import { type Db, type Tx, withTransaction } from "../db/pool.js";

/** What every service factory receives. */
export interface ServiceDeps {
  db: Db;
  feed: ChangeFeed;
  box: SecretBox;
  log: Logger;
}

/**
 * Runs a configuration change in one transaction (the change, its audit row
 * and its change-log entry commit together), maps database errors to Connect
 * codes, and wakes the routing-table watchers after the commit.
 */
export async function commitChange<T>(
  deps: ServiceDeps,
  what: string,
  fn: (tx: Tx) => Promise<T>,
): Promise<T> {
  let result: T;
  try {
    result = await withTransaction(deps.db, fn);
  } catch (err) {
    throw mapDbError(err, what);
  }
  deps.feed.notify();
  return result;
}

/** Read-side counterpart: maps database errors the same way. */
export async function read<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapDbError(err, what);
  }
}

/**
 * Writes that are not configuration changes — worker telemetry: no audit row,
 * no routing-table version, no watcher to wake — map database errors the same way.
 */
export const recordTelemetry: typeof read = read;
