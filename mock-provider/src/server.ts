/**
 * Deterministic OpenAI-compatible upstream for tests, demos and benchmarks.
 * A TEST TOOL, not a provider: replies are canned ("tok0 tok1 ..."), failures
 * are driven by options, fault rules and `x-mock-*` headers. Built on
 * `node:http` only and kept lean on the hot path (no per-request logging,
 * pre-serialised pieces, one array-length check when no fault rules are set).
 */
import http, { type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { handleAdmin } from "./admin.js";
import { sendFault } from "./fault-replies.js";
import { type CompiledFault, FaultTable } from "./fault-table.js";
import type { FaultRule } from "./faults.js";
import { chat, embeddings, later, MAX_BODY_BYTES, readBody, sendJson, sendMockError } from "./handlers.js";
import { errorJson, MOCK_MODELS, MODELS_LIST_JSON, modelObject } from "./openai-shapes.js";
import {
  type AwsKeysOption,
  bearerToken,
  HeaderError,
  overridesFaults,
  type Plan,
  planRequest,
  resolveOptions,
} from "./plan.js";
import { PROTOCOLS } from "./protocols/index.js";
import type { MockEnv } from "./protocols/types.js";
import { type MockStats, RequestStats } from "./stats.js";

export type {
  FaultMalformed,
  FaultMatch,
  FaultReset,
  FaultRoute,
  FaultRule,
  FaultStreamError,
} from "./faults.js";
export { validateFaults } from "./faults.js";
export type { MockStats } from "./stats.js";

/** Options of `startMockProvider`; all optional. */

export interface MockProviderOptions {
  host?: string | undefined;
  port?: number | undefined;
  /** Delay before response headers, in ms (default 0). */
  latencyMs?: number | undefined;
  /** Content pieces per reply; also `completion_tokens` (default 8). */
  chunkCount?: number | undefined;
  /** Gap between streamed content chunks, in ms (default 0: written at once). */
  chunkIntervalMs?: number | undefined;
  /** Fraction 0..1 of API requests answered with `errorStatus`, spread evenly by a counter (default 0). */
  errorRate?: number | undefined;
  /** Status used by `errorRate` (default 500). */
  errorStatus?: number | undefined;
  /** When set (alone or with `apiKeys`), requests must send `Authorization: Bearer <key>` with an accepted key. */
  apiKey?: string | undefined;
  /** More accepted keys; with any key set, others get 401. */
  apiKeys?: readonly string[] | undefined;
  /**
   * AWS access keys the Bedrock protocol (`/bedrock`) verifies SigV4 signatures
   * with: secret access key by access key id, or a function deriving it
   * (undefined for an unknown id). Bedrock also takes `apiKeys` as API keys (Bearer).
   */
  awsKeys?: AwsKeysOption | undefined;
  /**
   * Google service accounts the Vertex AI protocol's token endpoint
   * (`/vertex/token`) accepts: client_email → SPKI public key PEM verifying
   * the account's RS256 assertions.
   */
  serviceAccounts?: Readonly<Record<string, string>> | undefined;
  /** Initial fault rules (validated: a bad rule makes `startMockProvider` reject). */
  faults?: readonly FaultRule[] | undefined;
  /** Record requests in `MockProvider.requests` (default false). */
  record?: boolean | undefined;
}

/** One request captured when `record` is on. */
export interface RecordedRequest {
  method: string;
  /** Request target as sent, including any query string. */
  path: string;
  headers: IncomingHttpHeaders;
  /** Parsed JSON body; the raw text when it is not JSON; undefined when empty. */
  body: unknown;
}

/** A running mock provider. */
export interface MockProvider {
  /** Base URL including `/v1`, e.g. `http://127.0.0.1:PORT/v1`. */
  url: string;
  port: number;
  /** Last 1000 requests (oldest first) when `record` is on. */
  requests: RecordedRequest[];
  /** Replaces all fault rules; throws TypeError/RangeError naming the bad field (rules unchanged then). */
  setFaults(rules: readonly FaultRule[]): void;
  clearFaults(): void;
  /** Copies of the live fault rules, `times` holding what each has left. */
  faults(): FaultRule[];
  /** Chat/embeddings requests that passed the key check, by key and by model. */
  stats(): MockStats;
  resetStats(): void;
  close(): Promise<void>;
}

export { MAX_BODY_BYTES };
export const RECORD_LIMIT = 1000;

type Route = "chat" | "embeddings" | "models" | "model";

/** Starts a mock provider; resolves once it is listening. Throws on invalid options or fault rules. */
export async function startMockProvider(options: MockProviderOptions = {}): Promise<MockProvider> {
  const config = resolveOptions(options);
  const faults = new FaultTable();
  faults.set(options.faults ?? []);
  const stats = new RequestStats();
  const requests: RecordedRequest[] = [];
  let apiRequests = 0;
  let completions = 0;

  const respond = (
    req: IncomingMessage,
    res: ServerResponse,
    route: Route,
    path: string,
    raw: string,
    token: string | undefined,
  ) => {
    let body: unknown;
    let parsed = raw.length > 0;
    try {
      body = parsed ? JSON.parse(raw) : undefined;
    } catch {
      body = raw;
      parsed = false;
    }
    if (config.record) {
      requests.push({ method: req.method ?? "GET", path: req.url ?? path, headers: req.headers, body });
      if (requests.length > RECORD_LIMIT) requests.shift();
    }
    let fault: CompiledFault | undefined;
    let streaming = false;
    let apiRequest = 0;
    if (route === "chat" || route === "embeddings") {
      apiRequest = ++apiRequests;
      const fields =
        typeof body === "object" && body !== null ? (body as Record<string, unknown>) : undefined;
      const model = typeof fields?.model === "string" ? fields.model : undefined;
      streaming = route === "chat" && fields?.stream === true;
      stats.count(token ?? "", model ?? "");
      if (faults.rules.length !== 0 && !overridesFaults(req.headers)) {
        fault = faults.take(token, model, streaming, route);
      }
    }
    let plan: Plan;
    try {
      plan = planRequest(req.headers, config, apiRequest, fault);
    } catch (error) {
      if (!(error instanceof HeaderError)) throw error;
      sendJson(res, 400, errorJson(400, error.message, error.header));
      return;
    }
    later(res, plan.latencyMs, () => {
      if (plan.errorStatus !== undefined) {
        sendMockError(res, plan.errorStatus);
      } else if (plan.fault !== undefined) {
        sendFault(req, res, route === "chat" ? "chat" : "embeddings", streaming, plan.fault);
      } else if (route === "models") {
        sendJson(res, 200, MODELS_LIST_JSON);
      } else if (route === "model") {
        const id = decodeURIComponent(path.slice("/models/".length));
        if ((MOCK_MODELS as readonly string[]).includes(id))
          sendJson(res, 200, JSON.stringify(modelObject(id)));
        else sendJson(res, 404, errorJson(404, `The model '${id}' does not exist`, "model"));
      } else if (!parsed) {
        sendJson(res, 400, errorJson(400, "We could not parse the JSON body of your request."));
      } else if (typeof body !== "object" || body === null || Array.isArray(body)) {
        sendJson(res, 400, errorJson(400, "The request body must be a JSON object."));
      } else if (plan.failAfterChunks >= 0 && (body as Record<string, unknown>).stream !== true) {
        req.socket.destroy();
      } else if (route === "chat") {
        chat(res, body as Record<string, unknown>, plan, `chatcmpl-mock-${++completions}`);
      } else {
        embeddings(res, body as Record<string, unknown>);
      }
    });
  };

  let seq = 0;
  const env: MockEnv = { config, faults, stats, nextSeq: () => ++seq };

  const server = http.createServer((req, res) => {
    const target = req.url ?? "/";
    const query = target.indexOf("?");
    let path = query === -1 ? target : target.slice(0, query);
    const native = PROTOCOLS.find((p) => path.startsWith(`${p.prefix}/`));
    if (native) {
      const rest = path.slice(native.prefix.length);
      const params = new URLSearchParams(query === -1 ? "" : target.slice(query + 1));
      readBody(
        req,
        res,
        (raw) => native.handle({ req, res, path: rest, query: params, body: Buffer.from(raw, "utf8") }, env),
        () => undefined,
      );
      return;
    }
    if (path.startsWith("/v1/")) path = path.slice(3);
    const route = routeOf(path);
    const method = req.method ?? "GET";
    if (route === undefined) {
      if (!handleAdmin(req, res, path, faults, stats)) {
        sendJson(res, 404, errorJson(404, `Invalid URL (${method} ${target})`));
      }
      return;
    }
    const wanted = route === "chat" || route === "embeddings" ? "POST" : "GET";
    if (method !== wanted) {
      sendJson(res, 405, errorJson(405, `Method ${method} not allowed on ${path}`), { allow: wanted });
      return;
    }
    const token = bearerToken(req.headers.authorization);
    if (config.apiKeys.size !== 0 && !config.apiKeys.has(token ?? "")) {
      sendJson(res, 401, errorJson(401, "Incorrect API key provided."));
      return;
    }
    if (wanted === "GET") {
      respond(req, res, route, path, "", token);
      return;
    }
    readBody(
      req,
      res,
      (raw) => respond(req, res, route, path, raw, token),
      () => stats.count(token ?? "", ""),
    );
  });
  server.keepAliveTimeout = 65_000;
  server.on("connection", (socket) => socket.setNoDelay(true));

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(config.port, config.host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const host = config.host.includes(":") ? `[${config.host}]` : config.host;
  return {
    url: `http://${host}:${port}/v1`,
    port,
    requests,
    setFaults: (rules) => {
      faults.set(rules);
    },
    clearFaults: () => faults.clear(),
    faults: () => faults.list(),
    stats: () => stats.snapshot(),
    resetStats: () => stats.reset(),
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}

function routeOf(path: string): Route | undefined {
  if (path === "/chat/completions") return "chat";
  if (path === "/embeddings") return "embeddings";
  if (path === "/models") return "models";
  if (path.startsWith("/models/") && path.length > "/models/".length) return "model";
  return undefined;
}
