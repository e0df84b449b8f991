import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { compileRestRoutes } from "../control-plane/src/rest/rest-routes.js";
import { REST_SERVICES } from "../control-plane/src/rest/services.js";
import { projectRoot } from "../lib/src/paths.js";
import { PROVIDERS } from "../lib/src/provider-catalog.js";

/** Tables in docs/ that must match the code they describe. */
describe("docs stay in step with the code", () => {
  it("docs/management-api.md lists exactly the REST paths the annotations define", () => {
    const doc = readFileSync(join(projectRoot(), "docs", "management-api.md"), "utf8");
    const documented = [
      ...doc.matchAll(/^\| `(GET|POST|PUT|PATCH|DELETE)`\s*\| `([^`]+)`\s*\| `(\w+)\.(\w+)`\s*\|$/gm),
    ]
      .map((m) => `${m[1]} ${m[2]} ${m[3]}.${m[4]}`)
      .sort();
    const actual = compileRestRoutes(REST_SERVICES, "/rest/v1/llm-gateway")
      .map((r) => {
        const [service = "", method = ""] = r.rpcPath.slice(1).split("/");
        return `${r.httpMethod} ${r.template.source} ${service.replace("llmgateway.v1.", "")}.${method}`;
      })
      .sort();
    expect(documented).toEqual(actual);
  });

  it("docs/providers.md lists exactly the catalog's providers with their wire format and endpoints", () => {
    const doc = readFileSync(join(projectRoot(), "docs", "providers.md"), "utf8");
    const documented = [...doc.matchAll(/^\| `([\w-]+)`\s*\|[^|]+\|\s*(\w+)\s*\|\s*([\w, ]+?)\s*\|/gm)]
      .map((m) => `${m[1]} ${m[2]} ${m[3]}`)
      .sort();
    const actual = PROVIDERS.map((p) => `${p.id} ${p.wireFormat} ${p.endpoints.join(", ")}`).sort();
    expect(documented).toEqual(actual);
  });
});
