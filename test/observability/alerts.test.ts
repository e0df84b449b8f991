import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { RUNBOOKS } from "../../lib/src/observability/alert-thresholds.js";
import { RULES_PATH } from "../../lib/src/observability/generate.js";
import { allAlertRules, renderPrometheusRules } from "../../lib/src/observability/prometheus-rules.js";
import { catalogProblems } from "../../lib/src/observability/promql.js";
import { projectRoot } from "../../lib/src/paths.js";
import { findPromtool, PROMTOOL_REQUIRED, promtool } from "./promtool.js";

const root = projectRoot();
const FIXTURES = "test/fixtures/alerts";
const fixtures = readdirSync(join(root, FIXTURES))
  .filter((f) => f.endsWith(".yml"))
  .map((f) => `${FIXTURES}/${f}`);
const rules = allAlertRules();
const withPromtool = findPromtool() || PROMTOOL_REQUIRED ? it : it.skip;

/** Each `alert_rule_test` entry of a fixture: the alert it checks and whether it expects it to fire. */
function expectations(file: string): { alert: string; fires: boolean }[] {
  const text = readFileSync(join(root, file), "utf8");
  return text
    .split(/^\s*- eval_time:/m)
    .slice(1)
    .map((chunk) => ({
      alert: /alertname:\s*(\S+)/.exec(chunk)?.[1] ?? "",
      fires: /exp_labels:/.test(chunk.split(/^\s*- interval:/m)[0] ?? ""),
    }));
}

describe("Prometheus alert rules (helm/llm-gateway/files/prometheus-rules.yaml)", () => {
  it("the committed file is what the generator writes (else: npm run generate:observability)", () => {
    expect(readFileSync(join(root, RULES_PATH), "utf8")).toBe(renderPrometheusRules());
  });

  it("every alert reads only metrics and labels the workers export", () => {
    const problems = rules.flatMap((r) => catalogProblems(r.expr).map((p) => `${r.alert}: ${p}`));
    expect(problems).toEqual([]);
  });

  it("every alert has a unique name, a severity, a runbook anchor and its annotations", () => {
    expect(new Set(rules.map((r) => r.alert)).size).toBe(rules.length);
    for (const r of rules) {
      expect(r.alert).toMatch(/^LLMGateway[A-Z]\w+$/);
      expect(["critical", "warning"]).toContain(r.severity);
      expect(Object.keys(RUNBOOKS)).toContain(r.runbook);
      expect(r.summary.length).toBeGreaterThan(10);
      expect(r.description).toMatch(/\$value|\$labels/);
      expect(r.for).toMatch(/^\d+[smh]$/);
    }
  });

  it("every alert has a firing case and a quiet case in test/fixtures/alerts", () => {
    const cases = fixtures.flatMap(expectations);
    const missing = rules.flatMap((r) => [
      ...(cases.some((c) => c.alert === r.alert && c.fires) ? [] : [`${r.alert}: no firing case`]),
      ...(cases.some((c) => c.alert === r.alert && !c.fires) ? [] : [`${r.alert}: no quiet case`]),
    ]);
    expect(missing).toEqual([]);
    const unknown = cases.filter((c) => !rules.some((r) => r.alert === c.alert));
    expect(unknown).toEqual([]);
  });

  it("the fixtures test the committed rules file", () => {
    for (const file of fixtures) {
      expect(readFileSync(join(root, file), "utf8")).toContain(`rule_files:\n  - ../../../${RULES_PATH}\n`);
    }
  });

  withPromtool("promtool check rules accepts it", async () => {
    const result = await promtool(["check", "rules", RULES_PATH]);
    expect(result.output).toContain(`SUCCESS: ${rules.length} rules found`);
    expect(result.ok).toBe(true);
  });

  withPromtool(
    "promtool test rules: every fixture passes",
    async () => {
      const results = await Promise.all(fixtures.map((f) => promtool(["test", "rules", f])));
      const failed = results.filter((r) => !r.ok).map((r) => r.output);
      expect(failed).toEqual([]);
    },
    300_000,
  );

  it("docs/observability.md describes every alert", () => {
    const doc = readFileSync(join(root, "docs", "observability.md"), "utf8");
    expect(rules.filter((r) => !doc.includes(`\`${r.alert}\``)).map((r) => r.alert)).toEqual([]);
  });

  it("every runbook_url names a section that exists in docs/", () => {
    const missing = Object.values(RUNBOOKS).filter((link) => {
      const [file = "", anchor = ""] = link.split("#");
      const headings = [...readFileSync(join(root, "docs", file), "utf8").matchAll(/^#+\s+(.+)$/gm)];
      return !headings.some((m) => githubSlug(m[1] as string) === anchor);
    });
    expect(missing).toEqual([]);
  });
});

/** The anchor GitHub gives a Markdown heading. */
function githubSlug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, "")
    .replace(/\s/g, "-");
}
