import { readFileSync, type Stats, unwatchFile, watchFile } from "node:fs";
import http from "node:http";
import https from "node:https";
import { createSecureContext } from "node:tls";
import { ConfigError } from "../../../lib/src/env.js";
import type { Logger } from "../../../lib/src/logger.js";
import type { WorkerTlsConfig } from "../config.js";
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
  /** Serve HTTPS with these PEM files (reloaded on SIGHUP and on change); undefined: plain HTTP. */
  tls?: WorkerTlsConfig | undefined;
}

export interface WorkerServer {
  server: http.Server | https.Server;
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

  const handle = (req: http.IncomingMessage, res: http.ServerResponse) => {
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
  };
  const server = deps.tls ? createTlsServer(deps.tls, handle, deps.log) : http.createServer(handle);
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

/** How often the certificate and key files are stat()ed for a change (two stats: cheap). */
const TLS_POLL_MS = 2000;

/**
 * Reads the PEM pair and checks it parses and matches. Anything wrong is a
 * ConfigError naming the variable, so a worker with a bad pair refuses to start.
 */
function readTlsPair(tls: WorkerTlsConfig): { cert: Buffer; key: Buffer } {
  const load = (variable: string, file: string, part: "cert" | "key"): Buffer => {
    let pem: Buffer;
    try {
      pem = readFileSync(file);
    } catch (err) {
      const reason = (err as NodeJS.ErrnoException).code ?? (err as Error).message;
      throw new ConfigError(`${variable}: cannot read "${file}" (${reason})`);
    }
    try {
      createSecureContext({ [part]: pem });
    } catch (err) {
      throw new ConfigError(`${variable}: "${file}" is not a PEM ${part} (${(err as Error).message})`);
    }
    return pem;
  };
  const pair = {
    cert: load("LLM_GATEWAY_TLS_CERT_FILE", tls.certFile, "cert"),
    key: load("LLM_GATEWAY_TLS_KEY_FILE", tls.keyFile, "key"),
  };
  try {
    createSecureContext(pair);
  } catch (err) {
    throw new ConfigError(
      `LLM_GATEWAY_TLS_KEY_FILE does not match the certificate in LLM_GATEWAY_TLS_CERT_FILE (${(err as Error).message})`,
    );
  }
  return pair;
}

/**
 * An HTTPS server with the worker's request handler. The pair is read again on
 * SIGHUP and when either file's stat changes (Kubernetes swaps a Secret volume's
 * symlink, which a stat of the path sees); a pair that fails to load is logged
 * and the previous one kept, so a half-written renewal never takes TLS down.
 */
function createTlsServer(tls: WorkerTlsConfig, handle: http.RequestListener, log: Logger): https.Server {
  const server = https.createServer(readTlsPair(tls), handle);
  const reload = (reason: string) => {
    try {
      server.setSecureContext(readTlsPair(tls));
      log.info({ reason }, "TLS certificate reloaded");
    } catch (err) {
      log.warn(
        { reason, error: (err as Error).message },
        "TLS certificate reload failed; keeping the previous one",
      );
    }
  };
  const onHangup = () => reload("SIGHUP");
  const onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs !== before.mtimeMs || now.ino !== before.ino || now.size !== before.size) {
      reload("file changed");
    }
  };
  process.on("SIGHUP", onHangup);
  for (const file of [tls.certFile, tls.keyFile]) {
    watchFile(file, { interval: TLS_POLL_MS, persistent: false }, onChange);
  }
  server.once("close", () => {
    process.off("SIGHUP", onHangup);
    for (const file of [tls.certFile, tls.keyFile]) unwatchFile(file, onChange);
  });
  return server;
}
