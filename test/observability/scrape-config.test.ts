import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { RULES_PATH } from "../../lib/src/observability/generate.js";
import { projectRoot } from "../../lib/src/paths.js";
import { METRICS_PATH } from "../../worker/src/metrics/endpoint.js";
import { findPromtool, PROMTOOL_REQUIRED, promtool } from "./promtool.js";

const root = projectRoot();
const scratch = mkdtempSync(join(tmpdir(), "llmgw-scrape-"));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));
const withPromtool = findPromtool() || PROMTOOL_REQUIRED ? it : it.skip;

const EXAMPLES = [
  { file: "docs/examples/prometheus.yml", token: "/etc/prometheus/secrets/llm-gateway-metrics-token" },
  { file: "docs/examples/vmagent.yml", token: "/etc/vmagent/secrets/llm-gateway-metrics-token" },
] as const;

/**
 * promtool check config insists that token and rule files exist: a copy of
 * the example points them at a scratch token file and the committed rules.
 */
function localCopy(
  file: string,
  token: string,
  name: string,
  edit: (text: string) => string = (t) => t,
): string {
  const tokenFile = join(scratch, "metrics-token");
  writeFileSync(tokenFile, "lgm_example_not_a_real_token\n");
  const text = edit(readFileSync(join(root, file), "utf8"))
    .replaceAll(token, tokenFile)
    .replaceAll("/etc/prometheus/rules/llm-gateway-rules.yaml", join(root, RULES_PATH));
  const copy = join(scratch, name);
  writeFileSync(copy, text);
  return copy;
}

describe("example scrape configs (docs/examples/)", () => {
  for (const { file, token } of EXAMPLES) {
    it(`${file} scrapes ${METRICS_PATH} with a token file, in both documented forms`, () => {
      const text = readFileSync(join(root, file), "utf8");
      expect(text).toContain(`metrics_path: ${METRICS_PATH}`);
      expect(text).toContain(`authorization:\n      type: Bearer\n      credentials_file: ${token}`);
      expect(text).toContain(`#   bearer_token_file: ${token}`);
      expect(text).not.toMatch(/lgm_[A-Za-z0-9]/);
    });

    withPromtool(`promtool check config accepts ${file} (credentials_file)`, async () => {
      const result = await promtool(["check", "config", localCopy(file, token, "credentials.yml")]);
      expect(result.output).toContain("SUCCESS");
      expect(result.ok).toBe(true);
    });

    withPromtool(`promtool check config accepts ${file} with the bearer_token_file variant`, async () => {
      const variant = localCopy(file, token, "bearer.yml", (t) =>
        t.replaceAll(
          `authorization:\n      type: Bearer\n      credentials_file: ${token}`,
          `bearer_token_file: ${token}`,
        ),
      );
      expect(readFileSync(variant, "utf8")).not.toContain("credentials_file");
      const result = await promtool(["check", "config", variant]);
      expect(result.output).toContain("SUCCESS");
      expect(result.ok).toBe(true);
    });
  }

  withPromtool("the Prometheus example loads the generated alert rules", async () => {
    const result = await promtool([
      "check",
      "config",
      localCopy(EXAMPLES[0].file, EXAMPLES[0].token, "rules.yml"),
    ]);
    expect(result.output).toMatch(/SUCCESS: \d+ rules found/);
  });
});
