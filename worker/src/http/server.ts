import http from "node:http";
import type { Logger } from "../../../lib/src/logger.js";
import { createChatHandler } from "../handlers/chat-completions.js";
import type { GatewayDeps } from "../handlers/common.js";
import { createEmbeddingsHandler } from "../handlers/embeddings.js";
import { createMessagesHandler } from "../handlers/messages.js";
import { createModelsHandler } from "../handlers/models.js";
import { createSpeechHandler } from "../handlers/speech.js";
import { METRICS_PATH } from "../metrics/endpoint.js";
import { GatewayError, sendError } from "./errors.js";

type Handler = (req: http.IncomingMessage, res: http.ServerResponse) => Promise<void>;

export interface WorkerServerDeps extends GatewayDeps {
  log: Logger;
  metrics: Handler;
  /** True from SIGTERM on: /readyz fails and responses close their connection. */
  isDraining(): boolean;
  /** False while draining or before the first routing table. */
  isReady(): boolean;
}

export interface WorkerServer {
  server: http.Server;
  /** Requests being served right now (streams included). */
  readonly active: number;
  /** Resolves when no request is in flight. */
  idle(): Promise<void>;
}

const API_PREFIXES = ["/v1/", "/rest/v1/llm-gateway/v1/"];

/** The OpenAI-compatible path without its mount prefix, or undefined. */
function apiPath(pathname: string): string | undefined {
  for (const prefix of API_PREFIXES) {
    if (pathname.startsWith(prefix)) return pathname.slice(prefix.length - 1);
  }
  return undefined;
}

/** The worker's HTTP server: OpenAI-compatible API, metrics, health probes. */
export function createWorkerServer(deps: WorkerServerDeps): WorkerServer {
  const posts: Record<string, Handler> = {
    "/chat/completions": createChatHandler(deps),
    "/embeddings": createEmbeddingsHandler(deps),
    "/audio/speech": createSpeechHandler(deps),
    "/messages": createMessagesHandler(deps),
  };
  const models = createModelsHandler(deps);
  let active = 0;
  let idleWaiters: Array<() => void> = [];
  const done = () => {
    active--;
    if (active === 0 && idleWaiters.length > 0) {
      for (const wake of idleWaiters) wake();
      idleWaiters = [];
    }
  };
  const run = (handler: Handler, req: http.IncomingMessage, res: http.ServerResponse) => {
    active++;
    res.once("close", done);
    if (deps.isDraining()) res.setHeader("connection", "close");
    handler(req, res).catch((err) => deps.log.error({ err }, "request handler failed"));
  };
  const wrongMethod = (res: http.ServerResponse, pathname: string, allow: string) =>
    sendError(res, new GatewayError("method_not_allowed", `use ${allow} for ${pathname}`), { allow });

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
        .end(ready ? "ready\n" : deps.isDraining() ? "draining\n" : "not ready\n");
      return;
    }
    if (pathname === METRICS_PATH) {
      run(deps.metrics, req, res);
      return;
    }
    const path = apiPath(pathname);
    const post = path === undefined ? undefined : posts[path];
    if (post) {
      if (req.method !== "POST") return wrongMethod(res, pathname, "POST");
      run(post, req, res);
      return;
    }
    if (path === "/models" || path?.startsWith("/models/")) {
      if (req.method !== "GET") return wrongMethod(res, pathname, "GET");
      let id: string | undefined;
      try {
        id = path === "/models" ? undefined : decodeURIComponent(path.slice("/models/".length));
      } catch {
        id = path; // not valid percent-encoding: no route has that name
      }
      run((rq, rs) => models(rq, rs, id), req, res);
      return;
    }
    sendError(res, new GatewayError("not_found", `Unknown request URL: ${req.method} ${pathname}.`));
  });
  // Envoy keeps upstream connections open: stay open longer than its idle timeout.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  server.requestTimeout = 0; // streams can be long; the body read has its own limit
  server.on("connection", (socket) => socket.setNoDelay(true));
  return {
    server,
    get active() {
      return active;
    },
    idle() {
      return active === 0 ? Promise.resolve() : new Promise((resolve) => idleWaiters.push(resolve));
    },
  };
}
