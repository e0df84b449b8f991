import { once } from "node:events";
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { clientSignal } from "./client-signal.js";

const seen: AbortSignal[] = [];
let aborted: Promise<void> | undefined;
const server = createServer((req, res) => {
  const signal = clientSignal(res);
  seen.push(signal);
  if (req.url === "/hang") {
    // answers only if the client never leaves
    aborted = new Promise((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
    return;
  }
  res.end(String(signal.aborted));
});
let port = 0;
beforeAll(async () => {
  server.listen(0, "127.0.0.1");
  await once(server, "listening");
  port = (server.address() as AddressInfo).port;
});
afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function get(path: string, agent: Agent): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: "127.0.0.1", port, path, agent }, (res) => {
      let body = "";
      res.on("data", (d) => {
        body += d;
      });
      res.on("end", () => resolve(body));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("clientSignal", () => {
  it("is one signal per connection, not aborted while the client stays", async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    seen.length = 0;
    expect(await get("/a", agent)).toBe("false");
    expect(await get("/b", agent)).toBe("false");
    expect(seen).toHaveLength(2);
    expect(seen[0]).toBe(seen[1]);
    agent.destroy();
  });

  it("gives each connection its own signal", async () => {
    seen.length = 0;
    const a = new Agent({ keepAlive: true });
    const b = new Agent({ keepAlive: true });
    await get("/a", a);
    await get("/b", b);
    expect(seen[0]).not.toBe(seen[1]);
    a.destroy();
    b.destroy();
  });

  it("aborts when the client goes away with a request in flight", async () => {
    seen.length = 0;
    const agent = new Agent({ keepAlive: true });
    const req = request({ host: "127.0.0.1", port, path: "/hang", agent });
    req.on("error", () => {});
    req.end();
    while (seen.length === 0) await new Promise((r) => setTimeout(r, 5));
    expect(seen[0]?.aborted).toBe(false);
    req.destroy();
    await aborted;
    expect(seen[0]?.aborted).toBe(true);
    agent.destroy();
  });
});
