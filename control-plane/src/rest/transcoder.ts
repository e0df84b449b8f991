import { type DescService, fromJson, type JsonValue, toJsonString } from "@bufbuild/protobuf";
import type { Logger } from "../../../lib/src/logger.js";
import {
  forwardToConnect,
  type NodeHandler,
  type NodeRequest,
  type NodeResponse,
  RestError,
  readJsonBody,
  sendError,
} from "./http-io.js";
import { matchTemplate } from "./path-template.js";
import {
  type JsonObject,
  RequestError,
  resolveFieldPath,
  setFromStrings,
  settableFromString,
  setValue,
} from "./request-json.js";
import { compileRestRoutes, type RestRoute } from "./rest-routes.js";

export const DEFAULT_REST_PREFIX = "/rest/v1/llm-gateway";

export interface RestTranscoderOptions {
  /** Services whose google.api.http annotations define the REST surface. */
  services: readonly DescService[];
  /**
   * The Connect handler serving those services (from connectNodeAdapter).
   * Every REST call becomes an in-process Connect unary JSON call to it, so
   * its interceptors (authentication) and context values apply unchanged.
   */
  connectHandler: NodeHandler;
  /** Only paths under this prefix are REST; default /rest/v1/llm-gateway. */
  prefix?: string;
  /** Largest accepted request body; default 1 MiB. */
  maxBodyBytes?: number;
  log?: Logger;
}

/** The handler: returns true when it took the request (the path is under the prefix), false otherwise. */
export type RestTranscoder = (req: NodeRequest, res: NodeResponse) => boolean;

const badRequest = (message: string) => new RestError(400, "invalid_argument", message);

function findRoute(
  routes: RestRoute[],
  httpMethod: string,
  rawPath: string,
): { route: RestRoute; values: Map<string, string> } {
  const matches: { route: RestRoute; values: Map<string, string> }[] = [];
  for (const route of routes) {
    const m = matchTemplate(route.template, rawPath);
    if (m && "error" in m) throw badRequest(m.error);
    if (m) matches.push({ route, values: m.values });
  }
  // "/x/{id}:enable" also matches "/x/{id}" with id "…:enable"; a custom verb wins.
  const verbs = matches.filter((m) => m.route.template.verb !== undefined);
  const candidates = verbs.length > 0 ? verbs : matches;
  if (candidates.length === 0) {
    throw new RestError(404, "not_found", `no REST route for ${httpMethod} ${rawPath}`);
  }
  const hit = candidates.find((m) => m.route.httpMethod === httpMethod);
  if (!hit) {
    const allow = [...new Set(candidates.map((m) => m.route.httpMethod))].join(", ");
    throw new RestError(
      405,
      "unimplemented",
      `${httpMethod} is not allowed on ${rawPath} (allowed: ${allow})`,
      {
        allow,
      },
    );
  }
  return hit;
}

/** Builds the request message JSON from body, path variables and query parameters. */
async function requestJson(
  route: RestRoute,
  req: NodeRequest,
  values: Map<string, string>,
  query: URLSearchParams,
  maxBodyBytes: number,
): Promise<JsonObject> {
  let json: JsonObject = {};
  if (route.body !== "") {
    const body = await readJsonBody(req, maxBodyBytes);
    if (route.body === "*") {
      if (body !== undefined && (typeof body !== "object" || body === null || Array.isArray(body))) {
        throw badRequest("request body must be a JSON object");
      }
      json = (body as JsonObject | undefined) ?? {};
    } else if (body !== undefined && route.bodyFields) {
      setValue(json, route.bodyFields, route.body, body, "body");
    }
  }
  for (const [variable, value] of values) {
    setFromStrings(json, route.pathFields.get(variable) ?? [], variable, [value], "path");
  }
  for (const name of new Set(query.keys())) {
    const fields = resolveFieldPath(route.method.input, name);
    const leaf = fields?.[fields.length - 1];
    if (!fields || !leaf) throw badRequest(`unknown query parameter "${name}"`);
    if (!settableFromString(leaf)) {
      throw badRequest(`query parameter "${name}" names a message or map field; send it in a request body`);
    }
    setFromStrings(json, fields, name, query.getAll(name), "query");
  }
  return json;
}

/**
 * A REST/JSON front for Connect services, driven by their google.api.http
 * annotations: one data-driven transcoder, no hand-written route per RPC.
 *
 * A request under the prefix is matched against the compiled templates
 * (404 when no path matches, 405 when the path matches for other methods),
 * its JSON body, path variables and query parameters (proto or JSON field
 * names; repeated parameters for repeated fields) become the request message,
 * checked with fromJson (unknown fields refused: 400 naming the field), and
 * the call is forwarded to the Connect handler, whose response is relayed as
 * is: the response message as JSON, or `{code, message}` with Connect's HTTP
 * status (400, 401, 403, 404, 409, ...).
 */
export function createRestTranscoder(opts: RestTranscoderOptions): RestTranscoder {
  const prefix = (opts.prefix ?? DEFAULT_REST_PREFIX).replace(/\/+$/, "");
  const routes = compileRestRoutes(opts.services, prefix);
  const maxBodyBytes = opts.maxBodyBytes ?? 1024 * 1024;

  async function handle(req: NodeRequest, res: NodeResponse, rawPath: string, rawQuery: string) {
    const { route, values } = findRoute(routes, (req.method ?? "GET").toUpperCase(), rawPath);
    let json: JsonObject;
    try {
      json = await requestJson(route, req, values, new URLSearchParams(rawQuery), maxBodyBytes);
    } catch (err) {
      throw err instanceof RequestError ? badRequest(err.message) : err;
    }
    let message: ReturnType<typeof fromJson>;
    try {
      // Unknown fields are refused here; Connect's own JSON parsing would ignore them.
      message = fromJson(route.method.input, json as JsonValue, { ignoreUnknownFields: false });
    } catch (err) {
      throw badRequest(err instanceof Error ? err.message : String(err));
    }
    forwardToConnect(opts.connectHandler, req, res, route.rpcPath, toJsonString(route.method.input, message));
  }

  return (req, res) => {
    const url = req.url ?? "";
    const q = url.indexOf("?");
    const rawPath = q < 0 ? url : url.slice(0, q);
    if (rawPath !== prefix && !rawPath.startsWith(`${prefix}/`)) return false;
    handle(req, res, rawPath, q < 0 ? "" : url.slice(q + 1)).catch((err: unknown) => {
      if (err instanceof RestError) return sendError(res, err);
      opts.log?.error({ err, path: rawPath }, "REST transcoding failed");
      sendError(res, new RestError(500, "internal", "internal error"));
    });
    return true;
  };
}
