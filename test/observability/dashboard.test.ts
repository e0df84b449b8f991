import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { renderDashboard, TEMPLATE_QUERIES } from "../../lib/src/observability/dashboard.js";
import { DATASOURCE } from "../../lib/src/observability/dashboard-query.js";
import { DASHBOARD_PATH } from "../../lib/src/observability/generate.js";
import { METRIC_CATALOG, metricOfSeries } from "../../lib/src/observability/metric-catalog.js";
import { catalogProblems, promqlReferences } from "../../lib/src/observability/promql.js";
import { projectRoot } from "../../lib/src/paths.js";
import { findPromtool, PROMTOOL_REQUIRED, promtool } from "./promtool.js";

interface Target {
  expr: string;
  refId: string;
  datasource?: { type?: string; uid?: string };
}
interface Panel {
  id: number;
  type: string;
  title: string;
  datasource?: { type?: string; uid?: string };
  gridPos: { h: number; w: number; x: number; y: number };
  targets?: Target[];
}
interface Variable {
  name: string;
  type: string;
  query: string;
}

const root = projectRoot();
const committed = readFileSync(join(root, DASHBOARD_PATH), "utf8");
const dashboard = JSON.parse(committed) as { uid: string; panels: Panel[]; templating: { list: Variable[] } };
const panels = dashboard.panels.filter((p) => p.type !== "row");
const targets = panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, ...t })));
const scratch = mkdtempSync(join(tmpdir(), "llmgw-dashboard-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe("Grafana dashboard (helm/llm-gateway/files/grafana-dashboard.json)", () => {
  it("the committed file is what the generator writes (else: npm run generate:observability)", () => {
    expect(committed).toBe(renderDashboard());
  });

  it("is laid out as biome formats it, so npm run lint leaves it alone", () => {
    const formatted = execFileSync(
      join(root, "node_modules", ".bin", "biome"),
      ["format", `--stdin-file-path=${DASHBOARD_PATH}`],
      { cwd: root, input: committed, encoding: "utf8", stdio: ["pipe", "pipe", "ignore"] },
    );
    expect(formatted).toBe(committed);
  });

  it("every panel reads the selected Prometheus data source and has at least one query", () => {
    for (const p of panels) {
      expect(p.datasource, p.title).toEqual(DATASOURCE);
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
      for (const t of p.targets ?? []) expect(t.datasource, p.title).toEqual(p.datasource);
      expect(new Set(p.targets?.map((t) => t.refId)).size, p.title).toBe(p.targets?.length);
    }
  });

  it("every query reads only metrics and labels the workers export", () => {
    const problems = targets.flatMap((t) => catalogProblems(t.expr).map((p) => `${t.panel}: ${p}`));
    expect(problems).toEqual([]);
  });

  it("the panels cover every exported metric", () => {
    const used = new Set(
      targets.flatMap((t) => promqlReferences(t.expr).selectors.map((s) => metricOfSeries(s.metric)?.name)),
    );
    expect(METRIC_CATALOG.map((m) => m.name).filter((m) => !used.has(m))).toEqual([]);
  });

  it("has the organization, provider and model variables, each querying an exported label", () => {
    const names = dashboard.templating.list.map((v) => v.name);
    expect(names).toEqual(["datasource", "organization", "provider", "model"]);
    for (const [name, query] of Object.entries(TEMPLATE_QUERIES)) {
      const m = /^label_values\((.+), (\w+)\)$/.exec(query);
      expect(m, name).not.toBeNull();
      expect(catalogProblems(m?.[1] ?? "")).toEqual([]);
      expect(metricOfSeries(promqlReferences(m?.[1] ?? "").selectors[0]?.metric ?? "")?.labels).toContain(
        m?.[2],
      );
      expect(dashboard.templating.list.find((v) => v.name === name)?.query).toBe(query);
    }
  });

  it("has the views of the product documents' embedded dashboard", () => {
    const titles = panels.map((p) => p.title);
    for (const view of [
      "Active providers",
      "Request rate",
      "Error rate",
      "Gateway vs provider duration",
      "Gateway overhead by provider",
      "Requests by model",
      "Requests by credential",
      "Tokens by type",
      "Estimated cost over the range",
      "Actual provider cost",
      "Fallbacks by model",
      "Circuit state by credential",
    ]) {
      expect(titles).toContain(view);
    }
  });

  it("panels have unique ids and do not overlap on the 24-column grid", () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Set<string>();
    for (const { gridPos: g, title } of dashboard.panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++) {
        for (let y = g.y; y < g.y + g.h; y++) {
          expect(cells.has(`${x},${y}`), `${title} overlaps at ${x},${y}`).toBe(false);
          cells.add(`${x},${y}`);
        }
      }
    }
  });

  (findPromtool() || PROMTOOL_REQUIRED ? it : it.skip)(
    "every query is valid PromQL (promtool check rules on them as recording rules)",
    async () => {
      // Grafana's variables replaced by what Grafana would put there.
      const exprs = targets.map((t) =>
        t.expr.replaceAll("$__rate_interval", "2m").replaceAll("$__range", "6h").replace(/\$\w+/g, ".*"),
      );
      const file = join(scratch, "dashboard-queries.yaml");
      const rules = exprs.map((expr, i) => ({ record: `dashboard:query_${i}`, expr }));
      writeFileSync(file, JSON.stringify({ groups: [{ name: "dashboard", rules }] }));
      const result = await promtool(["check", "rules", file]);
      expect(result.output).toContain(`SUCCESS: ${exprs.length} rules found`);
      expect(result.ok).toBe(true);
    },
  );
});
