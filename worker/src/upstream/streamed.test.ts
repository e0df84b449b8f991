import { getEventListeners } from "node:events";
import type { ServerResponse } from "node:http";
import { describe, expect, it } from "vitest";
import { routeServer } from "../../../test/helpers/route-server.js";
import { HIGH_WATER_MARK, type ReplyBody } from "./streamed.js";

const BIG = 16 * 1024 * 1024;
/** When the server finished writing /big (honouring backpressure), and when a reply's socket closed. */
const seen = { bigFinishedAt: 0, closed: 0, firstPieceAt: 0 };

const routes: Record<string, (res: ServerResponse) => void> = {
  // an SSE-like reply: headers at once, then three pieces 30 ms apart
  "/events": (res) => {
    res.writeHead(200, { "content-type": "text/event-stream", "x-one": "a" });
    res.flushHeaders();
    let i = 0;
    const t = setInterval(() => {
      if (i === 0) seen.firstPieceAt = Date.now();
      res.write(`data: ${i}\n\n`);
      if (++i === 3) {
        clearInterval(t);
        res.end();
      }
    }, 30);
  },
  // far more than the kernel's socket buffers hold, written only as fast as it is read
  "/big": (res) => {
    res.writeHead(200);
    const piece = Buffer.alloc(64 * 1024, 0x61);
    let sent = 0;
    const pump = () => {
      while (sent < BIG) {
        sent += piece.length;
        if (!res.write(piece)) return void res.once("drain", pump);
      }
      res.end(() => {
        seen.bigFinishedAt = Date.now();
      });
    };
    pump();
  },
  "/error": (res) => {
    res.writeHead(503, { "content-type": "application/json" });
    res.end('{"error":{"message":"overloaded"}}');
  },
  // the first piece written with the head (as providers mostly do), the second 30 ms later
  "/with-head": (res) => {
    res.writeHead(200);
    res.write("data: 0\n\n");
    setTimeout(() => res.end("data: 1\n\n"), 30);
  },
  // headers, one piece, then silence
  "/stall": (res) => {
    res.writeHead(200);
    res.write("data: 0\n\n");
    res.on("close", () => seen.closed++);
  },
};

const { origin: originOf, pools } = routeServer(routes);

const open = (path: string, signal?: AbortSignal) =>
  pools.requestStreamed(originOf(), { method: "POST", path, body: "{}" }, signal);

async function readAll(body: ReplyBody): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (let r = await body.next(); !r.done; r = await body.next()) out.push(r.value);
  return out;
}

describe("requestStreamed", () => {
  it("resolves at the headers and hands over each piece as it arrives, on reused connections", async () => {
    for (let round = 0; round < 3; round++) {
      seen.firstPieceAt = 0;
      const res = await open("/events");
      expect(seen.firstPieceAt).toBe(0); // resolved at the headers, before any piece was written
      expect(res.statusCode).toBe(200);
      expect(res.headers["x-one"]).toBe("a");
      const pieces = (await readAll(res.body)).map(String);
      expect(pieces).toEqual(["data: 0\n\n", "data: 1\n\n", "data: 2\n\n"]);
      expect(await res.body.next()).toEqual({ done: true, value: undefined });
    }
    expect(pools.get(originOf()).stats.connected).toBeLessThanOrEqual(2);
  });

  it("read() hands over what has arrived without waiting: a chunk, undefined for nothing yet, null at the end", async () => {
    const res = await open("/with-head");
    expect(String(res.body.read())).toBe("data: 0\n\n");
    expect(res.body.read()).toBeUndefined();
    const next = await res.body.next();
    expect(String(next.value)).toBe("data: 1\n\n");
    expect(await res.body.next()).toEqual({ done: true, value: undefined });
    expect(res.body.read()).toBeNull();
  });

  it("stops reading the socket while the reader is behind, and loses nothing", async () => {
    seen.bigFinishedAt = 0;
    const res = await open("/big");
    await new Promise((r) => setTimeout(r, 300));
    // Paused past HIGH_WATER_MARK: the provider could not write 16 MB into the socket meanwhile.
    expect(seen.bigFinishedAt).toBe(0);
    let size = 0;
    let largest = 0;
    for await (const chunk of res.body) {
      size += chunk.length;
      largest = Math.max(largest, chunk.length);
    }
    expect(size).toBe(BIG);
    expect(largest).toBeLessThanOrEqual(HIGH_WATER_MARK * 4);
    expect(seen.bigFinishedAt).toBeGreaterThan(0);
  });

  it("gives an error reply's body to a reader like any other", async () => {
    const res = await open("/error");
    expect(res.statusCode).toBe(503);
    expect(Buffer.concat(await readAll(res.body)).toString()).toContain("overloaded");
  });

  it("rejects at once when the signal already aborted, and the pending read when it aborts later", async () => {
    const aborted = new AbortController();
    aborted.abort(new Error("client left"));
    await expect(open("/events", aborted.signal)).rejects.toThrow("client left");

    const later = new AbortController();
    const res = await open("/stall", later.signal);
    expect(String((await res.body.next()).value)).toBe("data: 0\n\n");
    const pending = res.body.next();
    later.abort(new Error("client left"));
    await expect(pending).rejects.toThrow("client left");
  });

  it("rejects a silent body with undici's body timeout", async () => {
    const res = await open("/stall");
    await res.body.next();
    await expect(res.body.next()).rejects.toMatchObject({ code: "UND_ERR_BODY_TIMEOUT" });
  });

  it("destroy() and leaving a for-await loop close the connection; the signal is let go", async () => {
    const closedBefore = seen.closed;
    const controller = new AbortController();
    const res = await open("/stall", controller.signal);
    await res.body.next();
    res.body.destroy();
    expect(await res.body.next()).toEqual({ done: true, value: undefined });
    const again = await open("/stall", controller.signal);
    for await (const _ of again.body) break;
    await expect.poll(() => seen.closed - closedBefore).toBe(2);
    // neither reply still listens on the client's signal (one per connection, kept across requests)
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
    const whole = await open("/events", controller.signal);
    await readAll(whole.body);
    expect(getEventListeners(controller.signal, "abort")).toHaveLength(0);
  });
});
