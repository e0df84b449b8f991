import { getEventListeners, once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, expect, it } from "vitest";
import { routeServer } from "../../../test/helpers/route-server.js";
import { parseRawHeaders } from "./reply-handler.js";

/** Replies by path: each case of a provider's reply the buffered read must handle. */
const routes: Record<string, (res: ServerResponse, body: string) => void> = {
  "/echo": (res, body) => {
    res.writeHead(200, { "content-type": "application/json" });
    res.end(JSON.stringify({ echo: body }));
  },
  // the body in pieces, some time apart, with a repeated header
  "/chunks": (res) => {
    res.writeHead(200, [
      ["x-one", "a"],
      ["X-Two", "b"],
      ["x-two", "c"],
    ]);
    let i = 0;
    const t = setInterval(() => {
      res.write(`part${i}-`.repeat(1000));
      if (++i === 5) {
        clearInterval(t);
        res.end("end");
      }
    }, 5);
  },
  "/error": (res) => {
    res.writeHead(429, { "retry-after": "7", "content-type": "application/json" });
    res.end('{"error":{"message":"slow down"}}');
  },
  // an error page larger than the cap, never finished: must not hang or be read whole
  "/huge-error": (res) => {
    res.writeHead(502, { "content-type": "text/html" });
    res.write("x".repeat(200_000));
  },
  "/hang": () => {},
  "/slow-body": (res) => {
    res.writeHead(200);
    res.write("{");
  },
};

const { origin: originOf, pools } = routeServer(routes);

const post = (path: string, signal?: AbortSignal, body = "hi", headersTimeout?: number) =>
  pools.requestBuffered(
    originOf(),
    { method: "POST", path, body, headersTimeout: headersTimeout ?? null },
    signal,
    64 * 1024,
  );

describe("requestBuffered", () => {
  it("reads a reply whole, on reused keep-alive connections", async () => {
    for (let i = 0; i < 5; i++) {
      const r = await post("/echo", undefined, `n${i}`);
      expect(r.statusCode).toBe(200);
      expect(r.headers["content-type"]).toBe("application/json");
      expect(JSON.parse(r.body.toString())).toEqual({ echo: `n${i}` });
    }
    expect(pools.get(originOf()).stats.connected).toBeLessThanOrEqual(4);
  });

  it("joins a body that came in pieces and keeps repeated headers", async () => {
    const r = await post("/chunks");
    const want = `${[0, 1, 2, 3, 4].map((i) => `part${i}-`.repeat(1000)).join("")}end`;
    expect(r.body.toString()).toBe(want);
    expect(r.headers["x-one"]).toBe("a");
    expect(r.headers["x-two"]).toEqual(["b", "c"]);
  });

  it("reads an error reply with its headers", async () => {
    const r = await post("/error");
    expect(r.statusCode).toBe(429);
    expect(r.headers["retry-after"]).toBe("7");
    expect(r.body.toString()).toContain("slow down");
  });

  it("stops reading an error reply past the cap and drops the connection", async () => {
    const r = await post("/huge-error");
    expect(r.statusCode).toBe(502);
    expect(r.body.length).toBeGreaterThan(64 * 1024);
    expect(r.body.length).toBeLessThan(200_000);
  });

  it("rejects when the signal aborts, before or while waiting", async () => {
    const before = new AbortController();
    before.abort();
    await expect(post("/echo", before.signal)).rejects.toThrow();
    const during = new AbortController();
    const pending = post("/hang", during.signal);
    setTimeout(() => during.abort(), 50);
    await expect(pending).rejects.toThrow();
    // aborted after dispatch but before the handler listens
    const between = new AbortController();
    const racing = post("/hang", between.signal);
    between.abort();
    await expect(racing).rejects.toThrow();
  });

  it("listens to the signal while the reply is awaited, and lets it go however the reply ends", async () => {
    const controller = new AbortController();
    const listeners = () => getEventListeners(controller.signal, "abort").length;
    const pending = post("/hang", controller.signal, "x", 200);
    // added once the request is written (undici writes from a setImmediate queued before)
    expect(listeners()).toBe(0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(listeners()).toBe(1);
    await expect(pending).rejects.toMatchObject({ code: "UND_ERR_HEADERS_TIMEOUT" });
    expect(listeners()).toBe(0);
    await post("/echo", controller.signal);
    await post("/error", controller.signal);
    expect(listeners()).toBe(0);
    // undici refuses this request inside dispatch, before anything is sent
    await expect(
      pools.requestBuffered(originOf(), { method: "POST", path: "no-slash" }, controller.signal, 1024),
    ).rejects.toMatchObject({ code: "UND_ERR_INVALID_ARG" });
    expect(listeners()).toBe(0);
  });

  it("rejects with undici's timeout codes", async () => {
    await expect(post("/hang", undefined, "x", 100)).rejects.toMatchObject({
      code: "UND_ERR_HEADERS_TIMEOUT",
    });
    await expect(post("/slow-body")).rejects.toMatchObject({ code: "UND_ERR_BODY_TIMEOUT" });
  });

  it("rejects when the provider cannot be reached", async () => {
    const closed = createServer();
    closed.listen(0, "127.0.0.1");
    await once(closed, "listening");
    const port = (closed.address() as AddressInfo).port;
    closed.close();
    await once(closed, "close");
    await expect(
      pools.requestBuffered(`http://127.0.0.1:${port}`, { method: "POST", path: "/" }, undefined, 1024),
    ).rejects.toMatchObject({ code: "ECONNREFUSED" });
  });
});

describe("parseRawHeaders", () => {
  it("lower-cases names, decodes values as UTF-8 and groups repeated names", () => {
    const raw = ["Content-Type", "text/plain", "X-Name", "é", "x-name", "b", "Set-Cookie", "a=1"].map((s) =>
      Buffer.from(s),
    );
    expect(parseRawHeaders(raw)).toEqual({
      "content-type": "text/plain",
      "x-name": ["é", "b"],
      "set-cookie": "a=1",
    });
  });
});
