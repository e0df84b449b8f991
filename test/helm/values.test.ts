import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { CHART_DIR, chartValues, coalesce, parseYaml11, readYaml, type Values } from "./lib/chart.js";

/**
 * values.schema.json is what Helm checks values against on install, upgrade,
 * lint and template (draft-07: every Helm 3 release understands it). Here ajv
 * applies it to values.yaml and to each example coalesced over values.yaml,
 * as Helm validates the merged values.
 */
const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as Record<
  string,
  unknown
>;
const ajv = new Ajv({ allErrors: true, strict: true, allowUnionTypes: true });
const validate = ajv.compile(schema);
const errorsOf = (values: unknown) =>
  validate(values) ? [] : ajv.errorsText(validate.errors, { separator: "\n" }).split("\n");

const EXAMPLES = readdirSync(join(CHART_DIR, "examples")).filter((f) => f.endsWith(".yaml"));
const example = (file: string) => readYaml(join(CHART_DIR, "examples", file)) as Values;

describe("values.schema.json", () => {
  it("is draft-07 and closed: every object level sets additionalProperties", () => {
    expect(schema.$schema).toBe("http://json-schema.org/draft-07/schema#");
    const open: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) {
        node.forEach((n, i) => {
          walk(n, `${path}[${i}]`);
        });
        return;
      }
      if (typeof node !== "object" || node === null) return;
      const o = node as Record<string, unknown>;
      // A Kubernetes object passed through (affinity terms) says so; it is checked after rendering.
      const passthrough = typeof o.$comment === "string" && o.$comment.startsWith("Kubernetes ");
      const helmGlobal = path === "/properties/global";
      // allOf holds conditions over values (if/then), not the shape of values.
      const condition = path.startsWith("/allOf");
      if (
        o.type === "object" &&
        o.additionalProperties === undefined &&
        !passthrough &&
        !helmGlobal &&
        !condition
      ) {
        open.push(path);
      }
      for (const [k, v] of Object.entries(o)) walk(v, `${path}/${k}`);
    };
    walk(schema, "");
    expect(open).toEqual([]);
  });

  it("accepts values.yaml", () => {
    expect(errorsOf(chartValues())).toEqual([]);
  });

  it("finds the examples", () => {
    expect(EXAMPLES.sort()).toEqual(["managed.yaml", "self-hosted.yaml"]);
  });

  it.each(EXAMPLES)("accepts examples/%s coalesced with values.yaml", (file) => {
    expect(errorsOf(coalesce(chartValues(), example(file)))).toEqual([]);
  });

  it.each([
    [
      "a misspelt key in an example",
      "managed.yaml",
      ["worker", "autoscalling"],
      true,
      "must NOT have additional properties",
    ],
    [
      "a misspelt nested key",
      "managed.yaml",
      ["envoy", "service", "annotation"],
      {},
      "must NOT have additional properties",
    ],
    [
      "a number where a string belongs",
      "self-hosted.yaml",
      ["worker", "env", "LLM_GATEWAY_MAX_BODY_BYTES"],
      1024,
      "must be string",
    ],
    [
      "a secret in env",
      "self-hosted.yaml",
      ["controlPlane", "env", "DATABASE_URL"],
      "postgres://x",
      "property name must be valid",
    ],
    [
      "a variable the chart sets",
      "managed.yaml",
      ["worker", "env", "LLM_GATEWAY_WORKER_PORT"],
      "9000",
      "property name must be valid",
    ],
    [
      "a bad pull policy",
      "managed.yaml",
      ["image", "pullPolicy"],
      "Sometimes",
      "must be equal to one of the allowed values",
    ],
    [
      "a bad quantity",
      "managed.yaml",
      ["worker", "resources", "limits", "memory"],
      "2 GB",
      "must match pattern",
    ],
    ["a negative drain delay", "self-hosted.yaml", ["worker", "drainDelayMs"], -1, "must be >= 0"],
    ["no worker processes", "self-hosted.yaml", ["worker", "processes"], 0, "must be >= 1"],
    [
      "an unknown monitor kind",
      "managed.yaml",
      ["monitoring", "workers", "kind"],
      "Probe",
      "must be equal to one of the allowed values",
    ],
    [
      "a bad toleration effect",
      "self-hosted.yaml",
      ["worker", "tolerations", "0", "effect"],
      "NoRun",
      "must be equal to one of the allowed values",
    ],
  ])("refuses %s", (_, file, path, value, message) => {
    const values = structuredClone(example(file));
    let node = values as Record<string, unknown>;
    for (const key of path.slice(0, -1)) {
      node[key] ??= {};
      node = node[key] as Record<string, unknown>;
    }
    node[path[path.length - 1] as string] = value;
    const errors = errorsOf(coalesce(chartValues(), values));
    expect(errors.join("\n")).toContain(message);
  });

  it("refuses worker TLS together with Envoy (Envoy speaks plain HTTP to workers)", () => {
    const values = coalesce(chartValues(), example("managed.yaml"));
    expect(
      errorsOf(coalesce(values, { worker: { tls: { enabled: true, secretName: "t" } } })).join(),
    ).toContain("must be equal to constant");
  });

  it("requires metricsFrom when monitoring is on under a NetworkPolicy (or Prometheus is blocked)", () => {
    const values = coalesce(chartValues(), example("managed.yaml"));
    expect(errorsOf(coalesce(values, { networkPolicy: { metricsFrom: [] } })).join()).toContain(
      "must NOT have fewer than 1 items",
    );
    expect(errorsOf(coalesce(values, { networkPolicy: { enabled: false, metricsFrom: [] } }))).toEqual([]);
  });
});

describe("coalescing as Helm does", () => {
  it("merges maps, replaces lists and scalars, deletes keys set to null", () => {
    const base = { a: { b: 1, c: [1, 2], d: "x" }, e: true };
    expect(coalesce(base, { a: { c: [3], d: null }, f: 1 })).toEqual({ a: { b: 1, c: [3] }, e: true, f: 1 });
    expect(base.a.d).toBe("x");
  });

  it("reads YAML as 1.1, as Helm does: `on` and `yes` are booleans, not strings", () => {
    expect(parseYaml11("a: on\nb: yes\nc: 'on'")).toEqual({ a: true, b: true, c: "on" });
  });
});
