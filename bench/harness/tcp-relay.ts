/**
 * The floor of one extra hop: a TCP relay (node:net in, one connection to
 * the upstream per client connection, bytes piped both ways, no HTTP
 * parsing at all), run as its own process:
 *
 *   node dist/bench/harness/tcp-relay.js <upstream origin>
 *
 * What it adds to the mock's latency is what any proxy process in between
 * costs on this machine before it reads a byte: two more sockets, two more
 * wake-ups per exchange. Binds 127.0.0.1 on a free port and logs
 * `{"msg":"tcp relay listening","url":…}`.
 */
import { connect, createServer } from "node:net";

const upstream = process.argv[2];
if (!upstream) throw new Error("usage: tcp-relay.js <upstream origin>");
const { hostname, port } = new URL(upstream);

const server = createServer({ noDelay: true }, (client) => {
  const up = connect({ host: hostname, port: Number(port), noDelay: true });
  client.pipe(up);
  up.pipe(client);
  const close = () => {
    client.destroy();
    up.destroy();
  };
  client.on("error", close).on("close", close);
  up.on("error", close).on("close", close);
});
server.listen(0, "127.0.0.1", () => {
  const address = server.address();
  const listening = typeof address === "object" && address ? address.port : 0;
  console.log(JSON.stringify({ msg: "tcp relay listening", url: `http://127.0.0.1:${listening}` }));
});
process.once("SIGTERM", () => process.exit(0));
