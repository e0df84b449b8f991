import { once } from "node:events";
import { createServer, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll } from "vitest";
import { createPools, type Pools } from "../../worker/src/upstream/pools.js";

/** How a path is answered: the response and the request body. */
export type Route = (res: ServerResponse, body: string) => void;

/**
 * A loopback HTTP server answering each path with its route, and the worker's keep-alive pools
 * (300 ms body timeout) to reach it: started before the file's tests and closed after them.
 */
export function routeServer(routes: Record<string, Route>): { origin: () => string; pools: Pools } {
  const server = createServer((req, res) => {
    let body = "";
    req.on("data", (d) => {
      body += d;
    });
    req.on("end", () => routes[req.url ?? ""]?.(res, body));
  });
  let origin = "";
  beforeAll(async () => {
    server.listen(0, "127.0.0.1");
    await once(server, "listening");
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  const pools = createPools({
    connectionsPerOrigin: 4,
    connectTimeoutMs: 1000,
    headersTimeoutMs: 1000,
    bodyTimeoutMs: 300,
  });
  afterAll(async () => {
    await pools.close();
    server.closeAllConnections();
    server.close();
  });
  return { origin: () => origin, pools };
}
