/**
 * The Envoy edge config (envoy/envoy.yaml, envoy/sds/) checked against
 * Envoy's v3 API protos, their protoc-gen-validate rules and the gateway's
 * own routing intent, without an Envoy binary. See envoy/README.md for what
 * this does not catch compared with `envoy --mode validate`.
 */
import fs from "node:fs";
import path from "node:path";
import type { JsonObject, JsonValue, Registry } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { findTypeFile, loadEnvoyDescriptors, patchValidateProto, REPO_ROOT } from "./descriptors.js";
import { copyConfig, NEGATIVE_CASES } from "./negative-cases.js";
import { type EnvoyConfig, readShippedConfig, typeNamesIn, validateEnvoyConfig } from "./validator.js";

let shipped: EnvoyConfig;
let registry: Registry;

beforeAll(async () => {
  shipped = readShippedConfig();
  ({ registry } = await loadEnvoyDescriptors(typeNamesIn(shipped)));
}, 120_000);

const obj = (v: JsonValue | undefined): JsonObject =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? v : {};
const arr = (v: JsonValue | undefined): JsonValue[] => (Array.isArray(v) ? v : []);

/** The HTTP connection manager of the edge (first) listener. */
function edgeHcm(config: EnvoyConfig): JsonObject {
  const listener = obj(arr(obj(obj(config.bootstrap).static_resources).listeners)[0]);
  return obj(obj(arr(obj(arr(listener.filter_chains)[0]).filters)[0]).typed_config);
}

/** The edge listener's routes, in order. */
function edgeRoutes(config: EnvoyConfig): JsonObject[] {
  return arr(obj(arr(obj(edgeHcm(config).route_config).virtual_hosts)[0]).routes).map(obj);
}

/** First route matching `urlPath` by prefix or exact path, as Envoy picks it (header matchers aside). */
function routeFor(config: EnvoyConfig, urlPath: string): JsonObject | undefined {
  return edgeRoutes(config).find((r) => {
    const m = obj(r.match);
    return typeof m.prefix === "string" ? urlPath.startsWith(m.prefix) : m.path === urlPath;
  });
}

/** Where a path ends up: a cluster name, or "404" for the JSON not-found answer. */
function destination(config: EnvoyConfig, urlPath: string): string {
  const r = routeFor(config, urlPath);
  if (!r) return "none";
  if (r.direct_response) return String(obj(r.direct_response).status);
  return String(obj(r.route).cluster);
}

describe("envoy/envoy.yaml", () => {
  it("decodes strictly as a v3 Bootstrap (SDS file as a DiscoveryResponse) and passes every rule and check", () => {
    expect(validateEnvoyConfig(shipped, registry)).toEqual([]);
  });

  it("compiled the proto of every @type the config names", () => {
    const types = typeNamesIn(shipped);
    expect(types.length).toBeGreaterThan(10);
    for (const t of types) expect(registry.getMessage(t), t).toBeDefined();
    expect(findTypeFile("envoy.extensions.filters.http.router.v3.Routr")).toBeUndefined();
  });

  it("sends the OpenAI paths and worker metrics to workers, RPC and management paths to the control plane", () => {
    const worker = "llm_gateway_worker";
    const controlPlane = "llm_gateway_control_plane";
    expect(destination(shipped, "/v1/chat/completions")).toBe(worker);
    expect(destination(shipped, "/rest/v1/llm-gateway/v1/chat/completions")).toBe(worker);
    expect(destination(shipped, "/metrics/ai-gateway")).toBe(worker);
    expect(destination(shipped, "/rest/v1/llm-gateway/credentials")).toBe(controlPlane);
    expect(destination(shipped, "/grpc.health.v1.Health/Check")).toBe(controlPlane);
    expect(destination(shipped, "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo")).toBe(
      controlPlane,
    );
    expect(destination(shipped, "/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo")).toBe(
      controlPlane,
    );
    for (const unknown of [
      "/",
      "/healthz",
      "/readyz",
      "/v2/chat",
      "/llmgateway.v1.WorkerService/IngestUsage",
    ]) {
      expect(destination(shipped, unknown), unknown).toBe("404");
    }
  });

  it("exposes every management service of proto/llmgateway/v1 except WorkerService", () => {
    const dir = path.join(REPO_ROOT, "proto/llmgateway/v1");
    const services = fs
      .readdirSync(dir)
      .flatMap((f) => [...fs.readFileSync(path.join(dir, f), "utf8").matchAll(/^service (\w+) \{/gm)])
      .map((m) => m[1]);
    expect(services).toContain("CredentialService");
    for (const service of services) {
      const want = service === "WorkerService" ? "404" : "llm_gateway_control_plane";
      expect(destination(shipped, `/llmgateway.v1.${service}/Any`), service).toBe(want);
    }
  });

  it("answers unknown paths with an OpenAI-shaped JSON 404", () => {
    const r = routeFor(shipped, "/nope");
    const body = JSON.parse(String(obj(obj(r?.direct_response).body).inline_string)) as JsonObject;
    expect(obj(body.error)).toMatchObject({ type: "not_found_error", code: "not_found" });
    expect(arr(r?.response_headers_to_add).map((h) => obj(obj(h).header).value)).toEqual([
      "application/json",
    ]);
  });

  it("buffers (413 above 10 MiB) on worker routes only, and compresses application/json only", () => {
    for (const r of edgeRoutes(shipped)) {
      const toControlPlane = obj(r.route).cluster === "llm_gateway_control_plane";
      const perRoute = obj(obj(r.typed_per_filter_config)["envoy.filters.http.buffer"]);
      expect(perRoute.disabled === true, String(r.name)).toBe(toControlPlane);
    }
    const filters = arr(obj(edgeHcm(shipped)).http_filters).map((f) => obj(obj(f).typed_config));
    expect(filters[0]?.max_request_bytes).toBe(10 * 1024 * 1024);
    const response = obj(obj(filters[1]?.response_direction_config).common_config);
    expect(response.content_type).toEqual(["application/json"]);
    expect(filters[1]?.request_direction_config).toBeUndefined();
  });
});

describe("validate/validate.proto patch", () => {
  it("adds ignore_empty to the rule messages that lack it, once", () => {
    const bundled = fs.readFileSync(
      path.join(REPO_ROOT, "node_modules/@grpc/grpc-js-xds/deps/protoc-gen-validate/validate/validate.proto"),
      "utf8",
    );
    const patched = patchValidateProto(bundled);
    const block = (text: string, name: string) => {
      const start = text.indexOf(`\nmessage ${name} {`);
      return text.slice(start, text.indexOf("\n}", start));
    };
    expect(block(bundled, "StringRules")).not.toContain("ignore_empty");
    expect(block(patched, "StringRules")).toContain("optional bool ignore_empty = 26;");
    expect(block(patched, "RepeatedRules")).toContain("optional bool ignore_empty = 5;");
    expect(block(patched, "EnumRules")).not.toContain("ignore_empty");
    expect(patchValidateProto(patched)).toBe(patched);
    expect(registry.getMessage("validate.StringRules")?.field.ignoreEmpty?.number).toBe(26);
  });
});

describe("broken variants are rejected", () => {
  it("has at least 12 of them", () => expect(NEGATIVE_CASES.length).toBeGreaterThanOrEqual(12));

  it.each(NEGATIVE_CASES)("$name → $check", ({ break: breakIt, check, message }) => {
    const config = copyConfig(shipped);
    breakIt(config);
    const issues = validateEnvoyConfig(config, registry);
    expect(issues.length, JSON.stringify(issues)).toBeGreaterThan(0);
    expect([...new Set(issues.map((i) => i.check))], JSON.stringify(issues)).toEqual([check]);
    expect(
      issues.some((i) => message.test(i.message)),
      JSON.stringify(issues),
    ).toBe(true);
  });
});
