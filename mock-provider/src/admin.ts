/**
 * Admin endpoints that drive a running mock from another process:
 * `/__mock/faults` (GET, PUT, DELETE) and `/__mock/stats` (GET, DELETE).
 * They are not API requests: never counted, faulted, delayed, recorded or key-checked.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultTable } from "./fault-table.js";
import { readBody, sendJson } from "./handlers.js";
import { errorJson } from "./openai-shapes.js";
import type { RequestStats } from "./stats.js";

export const FAULTS_PATH = "/__mock/faults";
export const STATS_PATH = "/__mock/stats";

function noContent(res: ServerResponse): void {
  res.writeHead(204);
  res.end();
}

function notAllowed(res: ServerResponse, method: string, path: string, allow: string): void {
  sendJson(res, 405, errorJson(405, `Method ${method} not allowed on ${path}`), { allow });
}

function putFaults(req: IncomingMessage, res: ServerResponse, faults: FaultTable): void {
  readBody(req, res, (raw) => {
    let input: unknown;
    try {
      input = JSON.parse(raw);
    } catch {
      sendJson(res, 400, errorJson(400, "We could not parse the JSON body of your request."));
      return;
    }
    try {
      sendJson(res, 200, JSON.stringify(faults.set(input)));
    } catch (error) {
      if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
      sendJson(res, 400, errorJson(400, error.message));
    }
  });
}

/** Answers an admin request; returns false (untouched response) when `path` is not an admin path. */
export function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
  faults: FaultTable,
  stats: RequestStats,
): boolean {
  const method = req.method ?? "GET";
  if (path === FAULTS_PATH) {
    if (method === "GET") sendJson(res, 200, JSON.stringify(faults.list()));
    else if (method === "PUT") putFaults(req, res, faults);
    else if (method === "DELETE") {
      faults.clear();
      noContent(res);
    } else notAllowed(res, method, path, "GET, PUT, DELETE");
    return true;
  }
  if (path === STATS_PATH) {
    if (method === "GET") sendJson(res, 200, JSON.stringify(stats.snapshot()));
    else if (method === "DELETE") {
      stats.reset();
      noContent(res);
    } else notAllowed(res, method, path, "GET, DELETE");
    return true;
  }
  return false;
}
