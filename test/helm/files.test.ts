import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/src/paths.js";
import { CHART_DIR, chartFileExists, chartValues, parseYaml11, type Values } from "./lib/chart.js";
import { ignored } from "./lib/dockerfile.js";

/**
 * Checks that need no rendering: what the templates reference exists, and the
 * chart's copies of envoy/ are current (scripts/sync-helm-files.sh).
 */
const TEMPLATES = join(CHART_DIR, "templates");
const templates = readdirSync(TEMPLATES).map((f) => ({
  name: f,
  text: readFileSync(join(TEMPLATES, f), "utf8"),
}));

function filesUnder(dir: string, match: RegExp): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d)) {
      const p = join(d, e);
      if (statSync(p).isDirectory()) walk(p);
      else if (match.test(e)) out.push(relative(dir, p));
    }
  };
  walk(dir);
  return out.sort();
}

/** `.Values.a.b` paths in a template, with `$x := .Values.a` aliases followed (`$x.b` is a.b). */
function valuePaths(text: string): string[] {
  const aliases = new Map<string, string>();
  for (const m of text.matchAll(/(\$\w+)\s*:=\s*\.Values((?:\.\w+)+)/g))
    aliases.set(m[1] as string, (m[2] as string).slice(1));
  const paths = [...text.matchAll(/\$?\.Values((?:\.\w+)+)/g)].map((m) => (m[1] as string).slice(1));
  for (const [alias, base] of aliases) {
    for (const m of text.matchAll(new RegExp(`\\${alias}((?:\\.\\w+)+)`, "g"))) paths.push(`${base}${m[1]}`);
  }
  return [...new Set(paths)].sort();
}

const has = (root: Values, path: string): boolean => {
  let node: unknown = root;
  for (const key of path.split(".")) {
    if (typeof node !== "object" || node === null || !Object.hasOwn(node, key)) return false;
    node = (node as Record<string, unknown>)[key];
  }
  return true;
};

describe("chart files", () => {
  it("every .Values path a template uses exists in values.yaml and in values.schema.json", () => {
    const values = chartValues();
    const schema = JSON.parse(readFileSync(join(CHART_DIR, "values.schema.json"), "utf8")) as {
      definitions: Record<string, unknown>;
    };
    const inSchema = (path: string) => {
      let node: unknown = schema;
      for (const key of path.split(".")) {
        let n = node as { $ref?: string; properties?: Record<string, unknown> };
        if (n.$ref) n = schema.definitions[n.$ref.replace("#/definitions/", "")] as typeof n;
        if (!n.properties || !Object.hasOwn(n.properties, key)) return false;
        node = n.properties[key];
      }
      return true;
    };
    const used = templates.flatMap((t) => valuePaths(t.text).map((p) => ({ template: t.name, path: p })));
    expect(used.length).toBeGreaterThan(50);
    const missing = used.filter((u) => !has(values, u.path) || !inSchema(u.path));
    expect(missing).toEqual([]);
  });

  it("every file a template reads with .Files.Get exists in the chart", () => {
    const refs = templates.flatMap((t) =>
      [...t.text.matchAll(/\.Files\.Get\s+"([^"]+)"/g)].map((m) => m[1] as string),
    );
    expect(refs.sort()).toEqual([
      "files/envoy/envoy.yaml",
      "files/envoy/sds/tls-certificate.yaml",
      "files/grafana-dashboard.json",
      "files/prometheus-rules.yaml",
    ]);
    for (const ref of refs) expect(chartFileExists(ref), ref).toBe(true);
    // Helm's .Files leaves out what .helmignore names (patterns match a path or a base name).
    const patterns = readFileSync(join(CHART_DIR, ".helmignore"), "utf8")
      .split("\n")
      .map((l) => l.trim())
      .filter((l) => l && !l.startsWith("#"));
    for (const ref of refs) {
      for (const candidate of [ref, ref.split("/").pop() ?? ref, ...ref.split("/").slice(0, -1)]) {
        for (const p of patterns) expect(ignored(p, candidate), `${ref} ignored by ${p}`).toBe(false);
      }
    }
  });

  it("files/envoy/ is an exact copy of envoy/ (run scripts/sync-helm-files.sh after changing envoy/)", () => {
    const source = join(projectRoot(), "envoy");
    const copy = join(CHART_DIR, "files", "envoy");
    const yaml = /\.ya?ml$/;
    expect(filesUnder(copy, yaml)).toEqual(filesUnder(source, yaml));
    for (const f of filesUnder(source, yaml)) {
      expect(readFileSync(join(copy, f), "utf8"), f).toBe(readFileSync(join(source, f), "utf8"));
    }
  });

  it("files/prometheus-rules.yaml is a rule file (groups of rules) and the dashboard is JSON", () => {
    const rules = parseYaml11(readFileSync(join(CHART_DIR, "files", "prometheus-rules.yaml"), "utf8")) as {
      groups: Array<{ name: string; rules: unknown[] }>;
    };
    expect(Object.keys(rules)).toEqual(["groups"]);
    expect(rules.groups.length).toBeGreaterThan(0);
    const dashboard = JSON.parse(
      readFileSync(join(CHART_DIR, "files", "grafana-dashboard.json"), "utf8"),
    ) as {
      panels: unknown[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(0);
  });

  it("Chart.yaml's appVersion is the package version (the image tag by default)", () => {
    const chart = parseYaml11(readFileSync(join(CHART_DIR, "Chart.yaml"), "utf8")) as Values;
    const pkg = JSON.parse(readFileSync(join(projectRoot(), "package.json"), "utf8")) as { version: string };
    expect(chart).toMatchObject({ apiVersion: "v2", name: "llm-gateway", appVersion: pkg.version });
  });
});
