/**
 * Deliberately broken variants of the shipped Envoy config, each built by
 * mutating a copy of the parsed YAML and each expected to fail exactly one
 * kind of check. They prove the validator can fail.
 */
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { EnvoyConfig } from "./validator.js";

/** A broken variant: what to break and which check must catch it. */
export interface NegativeCase {
  name: string;
  break(config: EnvoyConfig): void;
  /** The only check kind the variant may fail. */
  check: string;
  /** Must match the failing issue's message. */
  message: RegExp;
}

function o(v: JsonValue | undefined): JsonObject {
  if (v === null || v === undefined || typeof v !== "object" || Array.isArray(v))
    throw new Error("not an object");
  return v;
}

function a(v: JsonValue | undefined): JsonValue[] {
  if (!Array.isArray(v)) throw new Error("not a list");
  return v;
}

const root = (c: EnvoyConfig) => o(c.bootstrap);
const listener = (c: EnvoyConfig, i: number) => o(a(o(root(c).static_resources).listeners)[i]);
const hcm = (c: EnvoyConfig) => o(o(a(o(a(listener(c, 0).filter_chains)[0]).filters)[0]).typed_config);
const vhost = (c: EnvoyConfig) => o(a(o(hcm(c).route_config).virtual_hosts)[0]);
const routes = (c: EnvoyConfig) => a(vhost(c).routes).map(o);
const route = (c: EnvoyConfig, name: string) => {
  const found = routes(c).find((r) => r.name === name);
  if (!found) throw new Error(`no route ${name}`);
  return found;
};
const httpFilter = (c: EnvoyConfig, name: string) => {
  const found = a(hcm(c).http_filters)
    .map(o)
    .find((f) => f.name === name);
  if (!found) throw new Error(`no HTTP filter ${name}`);
  return found;
};
const cluster = (c: EnvoyConfig, name: string) => {
  const found = a(o(root(c).static_resources).clusters)
    .map(o)
    .find((x) => x.name === name);
  if (!found) throw new Error(`no cluster ${name}`);
  return found;
};
const sdsConfig = (c: EnvoyConfig) => {
  const tls = o(o(a(listener(c, 0).filter_chains)[0]).transport_socket);
  return o(a(o(o(tls.typed_config).common_tls_context).tls_certificate_sds_secret_configs)[0]);
};

/** Deep copy without YAML alias sharing, so a mutation touches one place only. */
export function copyConfig(c: EnvoyConfig): EnvoyConfig {
  const copy = (v: JsonValue): JsonValue => JSON.parse(JSON.stringify(v)) as JsonValue;
  return { bootstrap: copy(c.bootstrap), sds: new Map([...c.sds].map(([k, v]) => [k, copy(v)])) };
}

export const NEGATIVE_CASES: NegativeCase[] = [
  {
    name: "unknown field (misspelled use_remote_address)",
    break: (c) => {
      hcm(c).use_remote_adress = true;
    },
    check: "schema",
    message: /use_remote_adress/,
  },
  {
    name: "misspelled enum value",
    break: (c) => {
      hcm(c).codec_type = "AUTOMATIC";
    },
    check: "schema",
    message: /AUTOMATIC/,
  },
  {
    name: "bad duration string",
    break: (c) => {
      cluster(c, "llm_gateway_worker").connect_timeout = "2 s";
    },
    check: "schema",
    message: /2 s/,
  },
  {
    name: "typed_config with an unknown @type",
    break: (c) => {
      o(httpFilter(c, "envoy.filters.http.router").typed_config)["@type"] =
        "type.googleapis.com/envoy.extensions.filters.http.router.v3.Routr";
    },
    check: "schema",
    message: /Routr/,
  },
  {
    name: "unknown field in the SDS file",
    break: (c) => {
      const file = o(c.sds.get("/etc/envoy/sds/tls-certificate.yaml"));
      o(o(a(file.resources)[0]).tls_certificate).private_keys = { filename: "/etc/envoy/tls/tls.key" };
    },
    check: "schema",
    message: /private_keys/,
  },
  {
    name: "route to a missing cluster",
    break: (c) => {
      o(route(c, "rpc").route).cluster = "llm_gateway_controlplane";
    },
    check: "routes.cluster",
    message: /llm_gateway_controlplane is not defined/,
  },
  {
    name: "router filter not last",
    break: (c) => {
      const filters = a(hcm(c).http_filters);
      filters.unshift(...filters.splice(filters.length - 1, 1));
    },
    check: "http_filters.router_last",
    message: /router filter must be the last/,
  },
  {
    name: 'misspelled retry_on token "rest-before-request"',
    break: (c) => {
      o(o(route(c, "inference").route).retry_policy).retry_on =
        "connect-failure,refused-stream,rest-before-request,retriable-headers";
    },
    check: "retry_on",
    message: /"rest-before-request"/,
  },
  {
    name: "string shorter than its min_len rule",
    break: (c) => {
      hcm(c).stat_prefix = "";
    },
    check: "rule:string.min_len",
    message: /length 0 is below 1/,
  },
  {
    name: "string outside its `in` rule",
    break: (c) => {
      const mappers = a(o(hcm(c).local_reply_config).mappers);
      o(o(o(mappers[1]).filter).response_flag_filter).flags = ["UH", "XX"];
    },
    check: "rule:string.in",
    message: /"XX" is not one of/,
  },
  {
    name: "number out of its range",
    break: (c) => {
      const compressor = o(httpFilter(c, "envoy.filters.http.compressor").typed_config);
      o(o(compressor.compressor_library).typed_config).memory_level = 10;
    },
    check: "rule:uint32.lte",
    message: /10 must be at most 9/,
  },
  {
    name: "missing required message field",
    break: (c) => {
      delete o(a(cluster(c, "llm_gateway_worker").health_checks)[0]).timeout;
    },
    check: "rule:message.required",
    message: /timeout is required/,
  },
  {
    name: "duration at or below its gt rule",
    break: (c) => {
      o(a(cluster(c, "llm_gateway_worker").health_checks)[0]).interval = "0s";
    },
    check: "rule:duration.gt",
    message: /must be greater than 0s/,
  },
  {
    name: "repeated field below min_items",
    break: (c) => {
      vhost(c).domains = [];
    },
    check: "rule:repeated.min_items",
    message: /0 items, at least 1 required/,
  },
  {
    name: "enum number that is not defined",
    break: (c) => {
      hcm(c).codec_type = 7;
    },
    check: "rule:enum.defined_only",
    message: /7 is not a .*CodecType/,
  },
  {
    name: "route without an action (required oneof)",
    break: (c) => {
      delete route(c, "worker_metrics").route;
    },
    check: "rule:oneof.required",
    message: /one of route, redirect, direct_response/,
  },
  {
    name: "deprecated field",
    break: (c) => {
      cluster(c, "llm_gateway_control_plane").http2_protocol_options = {};
    },
    check: "rule:deprecated",
    message: /http2_protocol_options is deprecated/,
  },
  {
    name: "inference route with the default 15 s timeout",
    break: (c) => {
      delete o(route(c, "inference").route).timeout;
    },
    check: "inference.timeout",
    message: /15s \(default\)/,
  },
  {
    name: "inference route idle timeout below the worker's request timeout",
    break: (c) => {
      o(route(c, "inference_rest").route).idle_timeout = "120s";
    },
    check: "inference.idle_timeout",
    message: /idle_timeout is 120/,
  },
  {
    name: "grpc: {} route match",
    break: (c) => {
      o(route(c, "rpc").match).grpc = {};
    },
    check: "routes.grpc_match",
    message: /drops Connect JSON/,
  },
  {
    name: "route shadowed by an earlier prefix",
    break: (c) => {
      const list = a(vhost(c).routes);
      const rest = list.findIndex((r) => o(r).name === "management_rest");
      list.unshift(...list.splice(rest, 1));
    },
    check: "routes.shadowed",
    message: /\/rest\/v1\/llm-gateway\/v1\/ is unreachable/,
  },
  {
    name: "two listeners on one address",
    break: (c) => {
      o(o(listener(c, 1).address).socket_address).port_value = 8443;
    },
    check: "listeners.unique",
    message: /duplicate listener address 0\.0\.0\.0:8443/,
  },
  {
    name: "SDS config path that is not shipped",
    break: (c) => {
      const source = o(o(sdsConfig(c).sds_config).path_config_source);
      source.path = "/etc/envoy/sds/tls.yaml";
    },
    check: "sds.path",
    message: /\/etc\/envoy\/sds\/tls\.yaml is not shipped/,
  },
  {
    name: "SDS secret name the file does not define",
    break: (c) => {
      sdsConfig(c).name = "edge-tls";
    },
    check: "sds.secret",
    message: /no secret named edge-tls/,
  },
];
