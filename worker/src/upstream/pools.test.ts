import { once } from "node:events";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createPools } from "./pools.js";

/** The pools import undici's Pool by module path: this checks it works as the index's does. */
const server = createServer((req, res) => {
  let body = "";
  req.on("data", (d) => {
    body += d;
  });
  req.on("end", () => {
    res.writeHead(201, { "content-type": "text/plain", "x-path": req.url ?? "" });
    res.end(`got ${req.method} ${body}`);
  });
});
let origin = "";

beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => server.close());

describe("createPools", () => {
  const pools = createPools({
    connectionsPerOrigin: 2,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 1000,
  });

  it("sends a request through one keep-alive pool per origin and reads the body", async () => {
    for (let i = 0; i < 3; i++) {
      const res = await pools.requestStreamed(
        origin,
        { method: "POST", path: "/v1/x", body: `n${i}` },
        undefined,
      );
      expect(res.statusCode).toBe(201);
      expect(res.headers["x-path"]).toBe("/v1/x");
      const chunks: Buffer[] = [];
      for await (const chunk of res.body) chunks.push(chunk);
      expect(Buffer.concat(chunks).toString()).toBe(`got POST n${i}`);
    }
    expect(pools.get(origin)).toBe(pools.get(origin));
    const { connected } = pools.get(origin).stats;
    expect(connected).toBeGreaterThan(0);
    expect(connected).toBeLessThanOrEqual(2);
  });

  it("rejects on an aborted signal and closes its pools", async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      pools.requestStreamed(origin, { method: "GET", path: "/" }, controller.signal),
    ).rejects.toThrow();
    await pools.close();
  });
});
