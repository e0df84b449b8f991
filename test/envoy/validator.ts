/**
 * Validates the shipped Envoy configuration without the Envoy binary:
 *
 * 1. decode `envoy/envoy.yaml` as `envoy.config.bootstrap.v3.Bootstrap` and
 *    each `envoy/sds/*.yaml` as `envoy.service.discovery.v3.DiscoveryResponse`
 *    with protobuf-es `fromJson`, strictly (unknown fields, bad enum names and
 *    bad durations fail; every `typed_config` is decoded by its `@type`);
 * 2. evaluate the protoc-gen-validate rules of the Envoy protos (pgv.ts);
 * 3. run the Envoy-semantic checks (semantic.ts).
 */
import fs from "node:fs";
import path from "node:path";
import {
  type DescMessage,
  fromJson,
  type JsonObject,
  type JsonValue,
  type Registry,
  toJson,
} from "@bufbuild/protobuf";
import { parse } from "yaml";
import { REPO_ROOT } from "./descriptors.js";
import { createPgvValidator, type PgvValidator } from "./pgv.js";
import { checkSemantics, type Issue } from "./semantic.js";

export type { Issue } from "./semantic.js";

/** Where the deployment mounts envoy/ inside the Envoy container (the Helm chart must agree). */
export const MOUNT_PATH = "/etc/envoy";
export const ENVOY_DIR = path.join(REPO_ROOT, "envoy");

/** A bootstrap and its SDS files, as parsed YAML (plain JSON values). */
export interface EnvoyConfig {
  bootstrap: JsonValue;
  /** SDS files keyed by the path Envoy reads them from (`/etc/envoy/sds/...`). */
  sds: Map<string, JsonValue>;
}

function parseYaml(file: string): JsonValue {
  // Strict YAML 1.2 core schema: "no", "on", "0755" stay strings; duplicate keys fail.
  return parse(fs.readFileSync(file, "utf8"), { strict: true, uniqueKeys: true }) as JsonValue;
}

/** Reads envoy/envoy.yaml and every envoy/sds/*.yaml of the working tree. */
export function readShippedConfig(): EnvoyConfig {
  const sds = new Map<string, JsonValue>();
  const sdsDir = path.join(ENVOY_DIR, "sds");
  for (const name of fs
    .readdirSync(sdsDir)
    .filter((n) => /\.ya?ml$/.test(n))
    .sort()) {
    sds.set(`${MOUNT_PATH}/sds/${name}`, parseYaml(path.join(sdsDir, name)));
  }
  return { bootstrap: parseYaml(path.join(ENVOY_DIR, "envoy.yaml")), sds };
}

/** Every message type named by an `@type` anywhere in the config. */
export function typeNamesIn(config: EnvoyConfig): string[] {
  const names = new Set<string>();
  const visit = (v: JsonValue): void => {
    if (Array.isArray(v)) v.forEach(visit);
    else if (v !== null && typeof v === "object") {
      for (const [key, value] of Object.entries(v)) {
        if (key === "@type" && typeof value === "string") names.add(value.replace(/^.*\//, ""));
        else visit(value);
      }
    }
  };
  visit(config.bootstrap);
  for (const file of config.sds.values()) visit(file);
  return [...names].sort();
}

/** One rule evaluator per registry: it caches the decoded rule options of every field. */
const validators = new WeakMap<Registry, PgvValidator>();

function messageDesc(registry: Registry, name: string): DescMessage {
  const desc = registry.getMessage(name);
  if (!desc) throw new Error(`descriptor set lacks ${name}`);
  return desc;
}

/**
 * Every problem found in `config`, empty when it is valid. Decoding stops at
 * a file's first schema error (protobuf-es throws); rules and semantics run on
 * the files that decoded.
 */
export function validateEnvoyConfig(config: EnvoyConfig, registry: Registry): Issue[] {
  const issues: Issue[] = [];
  const pgv = validators.get(registry) ?? createPgvValidator(registry);
  validators.set(registry, pgv);
  const decode = (typeName: string, json: JsonValue, file: string): JsonObject | undefined => {
    const desc = messageDesc(registry, typeName);
    let message: ReturnType<typeof fromJson<DescMessage>>;
    try {
      message = fromJson(desc, json, { registry, ignoreUnknownFields: false });
    } catch (err) {
      issues.push({ check: "schema", path: file, message: err instanceof Error ? err.message : String(err) });
      return undefined;
    }
    for (const v of pgv.validate(desc, message)) {
      issues.push({ check: `rule:${v.rule}`, path: `${file}: ${v.path}`, message: v.message });
    }
    return toJson(desc, message, { registry, useProtoFieldName: true }) as JsonObject;
  };
  const bootstrap = decode("envoy.config.bootstrap.v3.Bootstrap", config.bootstrap, "envoy.yaml");
  const sds = new Map<string, JsonObject | undefined>();
  for (const [file, json] of config.sds) {
    sds.set(file, decode("envoy.service.discovery.v3.DiscoveryResponse", json, file));
  }
  if (bootstrap) issues.push(...checkSemantics(bootstrap, sds));
  return issues;
}
