/**
 * Preloaded (`node --import …/loopback-only.js`) into a peer server that has
 * no option for its bind address (Portkey listens on every interface): a
 * `listen(port)` without a host binds 127.0.0.1 instead.
 */
import { Server } from "node:net";

const listen = Server.prototype.listen;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  if (typeof args[0] === "number" && (args[1] === undefined || typeof args[1] === "function")) {
    args.splice(1, args[1] === undefined ? 1 : 0, "127.0.0.1");
  } else if (typeof args[0] === "object" && args[0] !== null && "port" in args[0]) {
    const options = args[0] as { host?: string };
    if (!options.host) args[0] = { ...options, host: "127.0.0.1" };
  }
  return (listen as (...a: unknown[]) => Server).apply(this, args);
} as typeof Server.prototype.listen;
