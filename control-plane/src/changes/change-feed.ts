import type { Logger } from "../../../lib/src/logger.js";
import type { Db } from "../db/pool.js";
import { currentVersion } from "./change-log.js";

/**
 * Wakes routing-table watchers when the configuration may have changed:
 * immediately on notify() (a commit on this replica, or an announcement from
 * another replica), and from a periodic version check as the safety net.
 */
export interface ChangeFeed {
  notify(): void;
  /** Resolves true when woken, false when the timeout passes or the signal aborts. */
  wait(timeoutMs: number, signal: AbortSignal): Promise<boolean>;
  /** Hooks called on notify(), e.g. to announce the change to other replicas. */
  onLocalChange(listener: () => void): void;
  close(): void;
}

export function createChangeFeed(db: Db, log: Logger, pollMs = 1000): ChangeFeed {
  const waiters = new Set<() => void>();
  const localListeners: Array<() => void> = [];
  let seen = -1;

  const wakeAll = () => {
    for (const wake of [...waiters]) wake();
  };

  const timer = setInterval(() => {
    currentVersion(db).then(
      (v) => {
        if (v !== seen) {
          if (seen !== -1) wakeAll();
          seen = v;
        }
      },
      (err) => log.warn({ err }, "routing-table version check failed"),
    );
  }, pollMs);
  timer.unref();

  return {
    notify() {
      wakeAll();
      for (const listener of localListeners) listener();
    },
    onLocalChange(listener) {
      localListeners.push(listener);
    },
    wait(timeoutMs, signal) {
      return new Promise<boolean>((resolve) => {
        if (signal.aborted) return resolve(false);
        const done = (woken: boolean) => {
          clearTimeout(t);
          waiters.delete(onWake);
          signal.removeEventListener("abort", onAbort);
          resolve(woken);
        };
        const onWake = () => done(true);
        const onAbort = () => done(false);
        const t = setTimeout(() => done(false), timeoutMs);
        waiters.add(onWake);
        signal.addEventListener("abort", onAbort, { once: true });
      });
    },
    close() {
      clearInterval(timer);
      wakeAll();
    },
  };
}
