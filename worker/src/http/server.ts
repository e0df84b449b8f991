import http from "node:http";
import type { Logger } from "../../../lib/src/logger.js";
import { type ChatDeps, createChatHandler } from "../handlers/chat-completions.js";
import { GatewayError, sendError } from "./errors.js";

export interface WorkerServerDeps extends ChatDeps {
  log: Logger;
  /** False while draining or before the first routing table. */
  isReady(): boolean;
}

const API_PREFIXES = ["/v1/", "/rest/v1/llm-gateway/v1/"];

/** The OpenAI-compatible path without its mount prefix, or undefined. */
function apiPath(pathname: string): string | undefined {
  for (const prefix of API_PREFIXES) {
    if (pathname.startsWith(prefix)) return pathname.slice(prefix.length - 1);
  }
  return undefined;
}

/** The worker's HTTP server: OpenAI-compatible API under /v1 and /rest/v1/llm-gateway/v1, health probes. */
export function createWorkerServer(deps: WorkerServerDeps): http.Server {
  const chat = createChatHandler(deps);
  const server = http.createServer((req, res) => {
    const url = req.url ?? "/";
    const q = url.indexOf("?");
    const pathname = q === -1 ? url : url.slice(0, q);
    if (pathname === "/healthz") {
      res.writeHead(200, { "content-type": "text/plain" }).end("ok\n");
      return;
    }
    if (pathname === "/readyz") {
      const ready = deps.isReady();
      res
        .writeHead(ready ? 200 : 503, { "content-type": "text/plain" })
        .end(ready ? "ready\n" : "not ready\n");
      return;
    }
    const path = apiPath(pathname);
    if (path === "/chat/completions") {
      if (req.method !== "POST") {
        sendError(res, new GatewayError("method_not_allowed", `use POST for ${pathname}`), { allow: "POST" });
        return;
      }
      chat(req, res).catch((err) => deps.log.error({ err }, "chat handler failed"));
      return;
    }
    sendError(res, new GatewayError("not_found", `Unknown request URL: ${req.method} ${pathname}.`));
  });
  // Envoy keeps upstream connections open: stay open longer than its idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // streams can be long; the body read has its own limit
  server.on("connection", (socket) => socket.setNoDelay(true));
  return server;
}
