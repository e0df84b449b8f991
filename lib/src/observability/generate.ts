import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { projectRoot } from "../paths.js";
import { renderDashboard } from "./dashboard.js";
import { renderPrometheusRules } from "./prometheus-rules.js";

/** A file the observability generator owns: its path from the repository root and its content. */
export interface GeneratedFile {
  readonly path: string;
  readonly content: string;
}

/** Path of the generated alert rules, from the repository root. */
export const RULES_PATH = "helm/llm-gateway/files/prometheus-rules.yaml";
/** Path of the generated Grafana dashboard, from the repository root. */
export const DASHBOARD_PATH = "helm/llm-gateway/files/grafana-dashboard.json";

/** Every generated file with the content the current sources produce. */
export function renderObservabilityFiles(): GeneratedFile[] {
  return [
    { path: RULES_PATH, content: renderPrometheusRules() },
    { path: DASHBOARD_PATH, content: renderDashboard() },
  ];
}

/**
 * Writes the generated files under `root` (the repository by default) and
 * returns the paths whose content changed.
 */
export function writeObservabilityFiles(root: string = projectRoot()): string[] {
  const changed: string[] = [];
  for (const file of renderObservabilityFiles()) {
    const target = join(root, file.path);
    let current: string | undefined;
    try {
      current = readFileSync(target, "utf8");
    } catch {
      current = undefined;
    }
    if (current === file.content) continue;
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, file.content);
    changed.push(file.path);
  }
  return changed;
}
