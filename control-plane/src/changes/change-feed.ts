import type { Logger } from "../../../lib/src/logger.js";
import type { Db } from "../db/pool.js";
import { currentVersion } from "./change-log.js";

/**
 * Wakes routing-table watchers when the configuration may have changed:
 * immediately on notify() (a commit on this replica) or wake() (an
 * announcement from another replica), and from a periodic version check as
 * the safety net.
 */
export interface ChangeFeed {
  /** A commit on this replica: wakes the local streams and calls the onLocalChange hooks. */
  notify(): void;
  /** A change announced by another replica: wakes the local streams only (never re-announced). */
  wake(): void;
  /** Counts wake-ups; read it before checking the version and pass it to wait() so no wake-up is lost. */
  readonly generation: number;
  /**
   * Resolves true when woken (at once if a wake-up happened since `since`),
   * false when the timeout passes or the signal aborts.
   */
  wait(timeoutMs: number, signal: AbortSignal, since?: number): Promise<boolean>;
  /** Hooks called on notify() (not on wake()), e.g. to announce the change to other replicas. */
  onLocalChange(listener: () => void): void;
  close(): void;
}

/** Creates the feed and starts its version check (every `pollMs`). */
export function createChangeFeed(db: Db, log: Logger, pollMs = 1000): ChangeFeed {
  const waiters = new Set<() => void>();
  const localListeners: Array<() => void> = [];
  let seen = -1;
  let generation = 0;

  const wakeAll = () => {
    generation++;
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
    wake: wakeAll,
    get generation() {
      return generation;
    },
    onLocalChange(listener) {
      localListeners.push(listener);
    },
    wait(timeoutMs, signal, since) {
      return new Promise<boolean>((resolve) => {
        if (signal.aborted) return resolve(false);
        if (since !== undefined && since !== generation) return resolve(true);
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
