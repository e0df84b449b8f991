/**
 * Envoy checks the API schema cannot express, over the canonical proto JSON
 * of a decoded bootstrap (`toJson` with proto field names: defaults omitted,
 * durations as "15s", every `Any` expanded with its `@type`).
 */
import path from "node:path";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

/** One failed check. */
export interface Issue {
  check: string;
  path: string;
  message: string;
}

/** The worker cluster and the OpenAI-compatible prefixes it serves (SSE streams). */
export const WORKER_CLUSTER = "llm_gateway_worker";
export const INFERENCE_PREFIXES = ["/v1/", "/rest/v1/llm-gateway/v1/"];
/**
 * The worker's default LLM_GATEWAY_REQUEST_TIMEOUT_MS in seconds. A stream is
 * never silent longer than LLM_GATEWAY_SSE_PING_MS (15 s), but a non-streaming
 * call sends nothing until its reply: a route idle timeout at or below this
 * cuts calls the worker is still serving (and billing).
 */
export const WORKER_REQUEST_TIMEOUT_SECONDS = 600;

/** Tokens Envoy accepts in `retry_on` (router filter docs: x-envoy-retry-on and x-envoy-retry-grpc-on). */
export const RETRY_ON_TOKENS = new Set([
  "5xx",
  "gateway-error",
  "reset",
  "reset-before-request",
  "connect-failure",
  "envoy-ratelimited",
  "retriable-4xx",
  "refused-stream",
  "retriable-status-codes",
  "retriable-headers",
  "http3-post-connect-failure",
  "cancelled",
  "deadline-exceeded",
  "internal",
  "resource-exhausted",
  "unavailable",
]);

const HCM_TYPE = "envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
const ROUTER_TYPE = "envoy.extensions.filters.http.router.v3.Router";

type J = JsonValue | undefined;
const obj = (v: J): JsonObject => (v !== null && typeof v === "object" && !Array.isArray(v) ? v : {});
const arr = (v: J): JsonValue[] => (Array.isArray(v) ? v : []);
const str = (v: J): string | undefined => (typeof v === "string" ? v : undefined);
const typeOf = (v: J): string => (str(obj(v)["@type"]) ?? "").replace(/^.*\//, "");
const seconds = (v: J): number | undefined =>
  str(v) === undefined ? undefined : Number(str(v)?.slice(0, -1));

/**
 * Runs every semantic check. `sds` maps the paths Envoy reads the shipped SDS
 * files from to their canonical JSON (undefined for a file that did not decode).
 */
export function checkSemantics(
  bootstrap: JsonObject,
  sds: ReadonlyMap<string, JsonObject | undefined>,
): Issue[] {
  const issues: Issue[] = [];
  const add = (check: string, at: string, message: string) => issues.push({ check, path: at, message });
  const resources = obj(bootstrap.static_resources);
  const listeners = arr(resources.listeners).map(obj);
  const clusters = new Set<string>();

  arr(resources.clusters).forEach((c, i) => {
    const name = str(obj(c).name) ?? "";
    if (clusters.has(name))
      add("clusters.unique", `static_resources.clusters[${i}]`, `duplicate cluster ${name}`);
    clusters.add(name);
  });
  const names = new Set<string>();
  const addresses = new Set<string>();
  listeners.forEach((l, i) => {
    const at = `static_resources.listeners[${i}]`;
    const name = str(l.name) ?? "";
    const sock = obj(obj(l.address).socket_address);
    const address = `${str(sock.address)}:${sock.port_value ?? 0}`;
    if (names.has(name)) add("listeners.unique", at, `duplicate listener name ${name}`);
    if (addresses.has(address)) add("listeners.unique", at, `duplicate listener address ${address}`);
    names.add(name);
    addresses.add(address);
    arr(l.filter_chains).forEach((fc, j) => {
      arr(obj(fc).filters).forEach((f, k) => {
        const tc = obj(obj(f).typed_config);
        if (typeOf(tc) === HCM_TYPE) checkHcm(tc, `${at}.filter_chains[${j}].filters[${k}]`, clusters, add);
      });
    });
  });
  const inference = listeners
    .flatMap((l) => routesOf(l))
    .filter((r) => INFERENCE_PREFIXES.includes(prefixOf(r)));
  for (const prefix of INFERENCE_PREFIXES) {
    if (!inference.some((r) => prefixOf(r) === prefix && str(obj(r.route).cluster) === WORKER_CLUSTER)) {
      add("inference.routes", "static_resources.listeners", `no route sends ${prefix} to ${WORKER_CLUSTER}`);
    }
  }
  checkSds(bootstrap, sds, add);
  return issues;
}

function routesOf(listener: JsonObject): JsonObject[] {
  return arr(listener.filter_chains).flatMap((fc) =>
    arr(obj(fc).filters)
      .map((f) => obj(obj(f).typed_config))
      .filter((tc) => typeOf(tc) === HCM_TYPE)
      .flatMap((tc) => arr(obj(tc.route_config).virtual_hosts).flatMap((vh) => arr(obj(vh).routes).map(obj))),
  );
}

function prefixOf(route: JsonObject): string {
  const m = obj(route.match);
  return str(m.prefix) ?? str(m.path_separated_prefix) ?? str(m.path) ?? "";
}

type Add = (check: string, at: string, message: string) => void;

function checkHcm(hcm: JsonObject, at: string, clusters: Set<string>, add: Add): void {
  const filters = arr(hcm.http_filters).map(obj);
  const routerAt = filters.findIndex((f) => typeOf(f.typed_config) === ROUTER_TYPE);
  if (routerAt !== filters.length - 1 || filters.length === 0) {
    add("http_filters.router_last", `${at}.http_filters`, "the router filter must be the last HTTP filter");
  }
  if (!hcm.route_config) add("routes.inline", at, "routes must be inline (route_config), not RDS");
  arr(obj(hcm.route_config).virtual_hosts).forEach((vhv, v) => {
    const vh = obj(vhv);
    const vat = `${at}.route_config.virtual_hosts[${v}]`;
    checkRetryOn(vh.retry_policy, `${vat}.retry_policy`, add);
    const earlier: Array<{ prefix: string; name: string }> = [];
    arr(vh.routes).forEach((rv, r) => {
      const route = obj(rv);
      const rat = `${vat}.routes[${r}]`;
      const match = obj(route.match);
      const action = obj(route.route);
      if (match.grpc !== undefined)
        add("routes.grpc_match", `${rat}.match`, "grpc: {} drops Connect JSON calls");
      const targets = [
        str(action.cluster),
        ...arr(obj(action.weighted_clusters).clusters).map((c) => str(obj(c).name)),
      ];
      for (const m of arr(action.request_mirror_policies)) targets.push(str(obj(m).cluster));
      for (const c of targets) {
        if (c !== undefined && !clusters.has(c))
          add("routes.cluster", `${rat}.route`, `cluster ${c} is not defined`);
      }
      checkRetryOn(action.retry_policy, `${rat}.route.retry_policy`, add);
      const prefix = prefixOf(route);
      const shadow = earlier.find((e) => prefix.startsWith(e.prefix));
      if (shadow)
        add("routes.shadowed", rat, `${prefix} is unreachable: route ${shadow.name} matches it first`);
      const plain = arr(match.headers).length === 0 && arr(match.query_parameters).length === 0;
      if (plain && (match.prefix !== undefined || match.path_separated_prefix !== undefined)) {
        earlier.push({ prefix, name: str(route.name) ?? `#${r}` });
      }
      if (INFERENCE_PREFIXES.includes(prefix)) checkInferenceRoute(action, `${rat}.route`, add);
    });
  });
}

function checkRetryOn(policy: J, at: string, add: Add): void {
  const retryOn = str(obj(policy).retry_on);
  if (retryOn === undefined) return;
  for (const token of retryOn.split(",").map((t) => t.trim())) {
    if (!RETRY_ON_TOKENS.has(token)) add("retry_on", at, `unknown retry_on token "${token}"`);
  }
}

function checkInferenceRoute(action: JsonObject, at: string, add: Add): void {
  const timeout = str(action.timeout);
  if (timeout !== "0s") {
    add(
      "inference.timeout",
      at,
      `timeout is ${timeout ?? "15s (default)"}: SSE streams need 0s (no total timeout)`,
    );
  }
  const idle = seconds(action.idle_timeout);
  if (idle === undefined || idle <= WORKER_REQUEST_TIMEOUT_SECONDS) {
    const limit = `the worker's ${WORKER_REQUEST_TIMEOUT_SECONDS} s request timeout`;
    add("inference.idle_timeout", at, `idle_timeout is ${idle ?? "unset"}: it must be above ${limit}`);
  }
  if (obj(action.max_stream_duration).max_stream_duration === undefined) {
    add("inference.max_stream_duration", at, "max_stream_duration must bound a stream");
  }
}

/** Every `sds_config` reads a shipped file, watches its directory, and names a secret the file defines. */
function checkSds(bootstrap: JsonObject, sds: ReadonlyMap<string, JsonObject | undefined>, add: Add): void {
  const visit = (v: J, at: string): void => {
    if (Array.isArray(v)) {
      v.forEach((x, i) => {
        visit(x, `${at}[${i}]`);
      });
      return;
    }
    if (v === null || typeof v !== "object") return;
    const source = obj(obj(v.sds_config).path_config_source);
    if (v.sds_config !== undefined) {
      const file = str(source.path);
      const name = str(v.name);
      const data = file === undefined ? undefined : sds.get(file);
      if (file === undefined || !sds.has(file)) {
        add("sds.path", `${at}.sds_config`, `SDS file ${file ?? "(none)"} is not shipped in envoy/`);
      } else if (data && !arr(data.resources).some((r) => str(obj(r).name) === name)) {
        add("sds.secret", `${at}.sds_config`, `${file} defines no secret named ${name}`);
      }
      if (file !== undefined && str(obj(source.watched_directory).path) !== path.posix.dirname(file)) {
        add(
          "sds.watched_directory",
          `${at}.sds_config`,
          `watched_directory must be ${path.posix.dirname(file)}`,
        );
      }
    }
    for (const [key, value] of Object.entries(v)) visit(value, at ? `${at}.${key}` : key);
  };
  visit(bootstrap, "");
  for (const [file, data] of sds) {
    arr(data?.resources).forEach((r, i) => {
      const cert = obj(obj(r).tls_certificate);
      const dir = str(obj(cert.watched_directory).path);
      for (const key of ["certificate_chain", "private_key"]) {
        const filename = str(obj(cert[key]).filename);
        if (filename !== undefined && path.posix.dirname(filename) !== dir) {
          add(
            "sds.watched_directory",
            `${file}: resources[${i}].tls_certificate`,
            `${key} is outside watched_directory`,
          );
        }
      }
    });
  }
}
