import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { parse, parseAllDocuments } from "yaml";
import { projectRoot } from "../../../lib/src/paths.js";
import { Executor } from "./go-exec.js";
import { GoStruct } from "./go-funcs.js";
import { parseTemplate } from "./go-template.js";

export const CHART_DIR = join(projectRoot(), "helm", "llm-gateway");

export type Values = Record<string, unknown>;

/** A rendered Kubernetes object; tests narrow it to a kubernetes-models type after validating it. */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  [field: string]: unknown;
}

const isMap = (v: unknown): v is Values => typeof v === "object" && v !== null && !Array.isArray(v);

/** Helm parses values as YAML 1.1 (sigs.k8s.io/yaml on go-yaml v2): `on`, `yes` are booleans there. */
export function parseYaml11(text: string): unknown {
  return parse(text, { version: "1.1" });
}

export function readYaml(path: string): unknown {
  return parseYaml11(readFileSync(path, "utf8"));
}

/**
 * Helm's coalescing of user values over the chart's: maps merge key by key,
 * anything else (lists included) replaces, and a user `null` deletes the key.
 */
export function coalesce(base: Values, override: Values): Values {
  const out: Values = structuredClone(base);
  for (const [key, value] of Object.entries(override)) {
    if (value === null) delete out[key];
    else if (isMap(value) && isMap(out[key])) out[key] = coalesce(out[key] as Values, value);
    else out[key] = structuredClone(value);
  }
  return out;
}

export function chartValues(): Values {
  return readYaml(join(CHART_DIR, "values.yaml")) as Values;
}

/** Every file under `dir`, relative to the chart root, like Helm's .Files. */
function chartFiles(dir: string): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (d: string) => {
    for (const entry of readdirSync(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) walk(path);
      else files.set(relative(CHART_DIR, path), readFileSync(path, "utf8"));
    }
  };
  walk(dir);
  return files;
}

export interface RenderOptions {
  /** missingkey=error, as `helm lint --strict` renders. */
  strict?: boolean;
  releaseName?: string;
  namespace?: string;
  isUpgrade?: boolean;
}

export interface Rendered {
  /** Output per template file (after rendering, before splitting). */
  files: Map<string, string>;
  objects: K8sObject[];
  notes: string;
}

/**
 * Renders every template of the chart with `values` (already coalesced), as
 * `helm template` would, with the strict subset renderer in go-exec.ts; the
 * output documents are parsed as YAML 1.1, as the Kubernetes API machinery does.
 */
export function renderChart(values: Values, opts: RenderOptions = {}): Rendered {
  const chart = readYaml(join(CHART_DIR, "Chart.yaml")) as Values;
  const files = chartFiles(CHART_DIR);
  const templates = [...files.keys()].filter((f) => f.startsWith("templates/")).sort();
  const exec = new Executor(opts.strict);
  const parsed = new Map(templates.map((t) => [t, parseTemplate(files.get(t) as string, t)]));
  for (const p of parsed.values()) exec.add(p);
  const top = {
    Values: values,
    Release: new GoStruct({
      Name: opts.releaseName ?? "llm-gateway",
      Namespace: opts.namespace ?? "gateway",
      Service: "Helm",
      IsInstall: !opts.isUpgrade,
      IsUpgrade: Boolean(opts.isUpgrade),
      Revision: 1n,
    }),
    Chart: new GoStruct({
      Name: chart.name,
      Version: chart.version,
      AppVersion: chart.appVersion,
    }),
    Capabilities: new GoStruct({}),
    Files: new GoStruct({
      Get: (name: unknown) => {
        // Helm returns "" for a missing file (an empty ConfigMap, silently): stricter here on purpose.
        const f = files.get(String(name));
        if (f === undefined) throw new Error(`.Files.Get "${String(name)}": no such file in the chart`);
        return f;
      },
    }),
  };
  const out = new Map<string, string>();
  const objects: K8sObject[] = [];
  let notes = "";
  for (const [name, p] of parsed) {
    const base = name.split("/").pop() ?? name;
    if (base.startsWith("_")) continue;
    const text = exec.render(p.nodes, {
      ...top,
      Template: new GoStruct({ Name: `llm-gateway/${name}`, BasePath: "llm-gateway/templates" }),
    });
    out.set(name, text);
    if (base === "NOTES.txt") {
      notes = text;
      continue;
    }
    for (const doc of parseAllDocuments(text, { version: "1.1" })) {
      if (doc.errors.length > 0)
        throw new Error(`${name}: ${doc.errors.map((e) => e.message).join("; ")}\n${text}`);
      const obj = doc.toJS() as unknown;
      if (obj === null || obj === undefined) continue;
      if (!isMap(obj)) throw new Error(`${name}: a document that is not an object`);
      objects.push(obj as K8sObject);
    }
  }
  return { files: out, objects, notes };
}

export function chartFileExists(path: string): boolean {
  return existsSync(join(CHART_DIR, path));
}
