/**
 * The Node limit: a bare pass-through proxy (node:http in, one undici pool
 * out, bodies piped both ways, nothing else), run as its own process:
 *
 *   node dist/bench/harness/undici-proxy.js <upstream origin>
 *
 * Binds 127.0.0.1 on a free port and logs `{"msg":"undici proxy listening","url":…}`.
 */
import { createServer } from "node:http";
import { pipeline } from "node:stream";
import { Pool } from "undici";

const upstream = process.argv[2];
if (!upstream) throw new Error("usage: undici-proxy.js <upstream origin>");
const pool = new Pool(upstream, { connections: 2048 });
const HOP = new Set(["connection", "keep-alive", "transfer-encoding", "host"]);

const server = createServer((req, res) => {
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(req.headers)) if (v !== undefined && !HOP.has(k)) headers[k] = v;
  const method = req.method ?? "GET";
  pool.request({ method, path: req.url ?? "/", headers, body: method === "GET" ? null : req }).then(
    (up) => {
      const out: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(up.headers)) if (v !== undefined && !HOP.has(k)) out[k] = v;
      res.writeHead(up.statusCode, out);
      pipeline(up.body, res, () => {});
    },
    (error: Error) => res.writeHead(502).end(error.message),
  );
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ msg: "undici proxy listening", url: `http://127.0.0.1:${port}` }));
});
process.once("SIGTERM", () => process.exit(0));
