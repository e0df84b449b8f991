import { describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/src/logger.js";
import type { Db } from "../db/pool.js";
import { createChangeFeed } from "./change-feed.js";

/** A database whose routing-table version the test sets. */
function versionDb() {
  const state = { version: 1 };
  const db = { query: async () => ({ rows: [{ version: state.version }] }) } as unknown as Db;
  return { state, db };
}

describe("change feed", () => {
  const log = createLogger("test", "silent");

  it("wakes waiters on notify and on wake, but announces only local commits", async () => {
    const feed = createChangeFeed(versionDb().db, log, 60_000);
    let announced = 0;
    feed.onLocalChange(() => announced++);
    const signal = new AbortController().signal;
    const first = feed.wait(5000, signal);
    feed.wake();
    expect(await first).toBe(true);
    const second = feed.wait(5000, signal);
    feed.notify();
    expect(await second).toBe(true);
    expect(announced).toBe(1);
    feed.close();
  });

  it("does not lose a wake-up that happens before the wait starts", async () => {
    const feed = createChangeFeed(versionDb().db, log, 60_000);
    const signal = new AbortController().signal;
    const seen = feed.generation;
    feed.wake(); // e.g. a Redis message while the stream was reading the version
    const started = Date.now();
    expect(await feed.wait(5000, signal, seen)).toBe(true);
    expect(Date.now() - started).toBeLessThan(100);
    expect(await feed.wait(50, signal, feed.generation)).toBe(false);
    feed.close();
  });

  it("wakes waiters when the version check sees the version move", async () => {
    const { state, db } = versionDb();
    const feed = createChangeFeed(db, log, 50);
    await new Promise((r) => setTimeout(r, 120)); // first check records the version
    const signal = new AbortController().signal;
    const woken = feed.wait(5000, signal);
    state.version = 2;
    expect(await woken).toBe(true);
    feed.close();
  });
});
