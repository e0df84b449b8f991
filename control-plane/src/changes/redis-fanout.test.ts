import { randomBytes } from "node:crypto";
import { createServer } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { createLogger } from "../../../lib/src/logger.js";
import type { Queryable } from "../db/pool.js";
import type { ChangeFeed } from "./change-feed.js";
import { parseFanoutMessage, type RedisFanout, redactRedisUrl, startRedisFanout } from "./redis-fanout.js";

/** A feed that counts wake-ups and lets the test fire local commits. */
function fakeFeed() {
  const listeners: Array<() => void> = [];
  const feed = {
    woken: 0,
    notify() {
      for (const l of listeners) l();
    },
    wake() {
      feed.woken++;
    },
    generation: 0,
    wait: async () => false,
    onLocalChange(l: () => void) {
      listeners.push(l);
    },
    close() {},
  };
  return feed satisfies ChangeFeed;
}

const fakeDb = (version: number): Queryable =>
  ({ query: async () => ({ rows: [{ version }] }) }) as unknown as Queryable;

function logCapture() {
  const lines: string[] = [];
  return { lines, log: createLogger("test", "debug", { write: (l: string) => void lines.push(l) }) };
}

/** A loopback port nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === "object" && address ? address.port : 1;
}

const until = async (check: () => boolean, timeoutMs: number) => {
  const end = Date.now() + timeoutMs;
  while (!check() && Date.now() < end) await new Promise((r) => setTimeout(r, 10));
  return check();
};

const started: RedisFanout[] = [];
afterEach(async () => {
  for (const f of started.splice(0)) await f.close();
});

describe("fan-out messages", () => {
  it("parses {version, replica} and nothing else", () => {
    expect(parseFanoutMessage('{"version":7,"replica":"cp-a"}')).toEqual({ version: 7, replica: "cp-a" });
    for (const bad of ["", "null", "7", '{"version":"7","replica":"a"}', '{"version":7}', "{not json"]) {
      expect(parseFanoutMessage(bad), bad).toBeUndefined();
    }
  });

  it("logs the Redis URL without user name or password", () => {
    expect(redactRedisUrl("redis://user:pa55word@redis.internal:6380/2")).toBe(
      "redis://redis.internal:6380/2",
    );
    expect(redactRedisUrl("rediss://:pa55word@redis.internal")).toBe("rediss://redis.internal");
  });
});

describe("Redis unreachable", () => {
  it("retries without crashing, logs the loss once and never the password", async () => {
    const password = `pw-${randomBytes(8).toString("hex")}`;
    const { lines, log } = logCapture();
    const feed = fakeFeed();
    const fanout = startRedisFanout({
      url: `redis://:${password}@127.0.0.1:${await closedPort()}/0`,
      channel: "llm-gateway:test",
      replicaId: "cp-test",
      feed,
      db: fakeDb(1),
      log,
    });
    started.push(fanout);
    expect(await fanout.ready(300)).toBe(false);
    feed.notify(); // a local commit while Redis is down: dropped, the version poll covers it
    await new Promise((r) => setTimeout(r, 1200)); // several reconnect attempts
    const warnings = lines.filter((l) => l.includes("redis change fan-out"));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain("unavailable");
    expect(warnings[0]).toContain("ECONNREFUSED");
    expect(lines.join("\n")).not.toContain(password);
    await fanout.close();
  });
});

describe.skipIf(!process.env.REDIS_URL)("Redis reachable", () => {
  const url = process.env.REDIS_URL ?? "";

  it("wakes the other replicas' streams on a commit, never its own", async () => {
    const channel = `llm-gateway:test:${randomBytes(6).toString("hex")}`;
    const { lines, log } = logCapture();
    const a = fakeFeed();
    const b = fakeFeed();
    for (const [replicaId, feed] of [
      ["cp-a", a],
      ["cp-b", b],
    ] as const) {
      const fanout = startRedisFanout({ url, channel, replicaId, feed, db: fakeDb(42), log });
      started.push(fanout);
      expect(await fanout.ready(5000)).toBe(true);
    }
    expect(await until(() => lines.filter((l) => l.includes("fan-out connected")).length === 2, 2000)).toBe(
      true,
    );
    a.notify();
    expect(await until(() => b.woken === 1, 2000)).toBe(true);
    b.notify();
    expect(await until(() => a.woken === 1, 2000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    expect({ a: a.woken, b: b.woken }).toEqual({ a: 1, b: 1 });
  });
});
