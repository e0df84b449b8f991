import { createHash } from "node:crypto";
import type { IncomingMessage } from "node:http";
import { Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { credential } from "../../../test/helpers/worker-fixtures.js";
import type { MetricsConfig } from "../config.js";
import { type Account, openAccount } from "../handlers/account.js";
import { NO_OBSERVER, type RequestObserver } from "../observe/observer.js";
import type { CompiledRoute, CompiledTarget } from "../table/compile.js";
import type { KeyRecord } from "../table/routing-table.js";
import type { ActualCost } from "./actual-cost.js";
import { codeLabel, createUserLabels } from "./labels.js";
import { createRequestMetrics, type RequestMetricsTable } from "./request-metrics.js";

const KEY: KeyRecord = { id: "key-1", orgId: "org", userId: "", expiresAt: Number.POSITIVE_INFINITY };
const HASHED_KEY = createHash("sha256").update("key:key-1").digest("hex").slice(0, 12);
const TARGET: CompiledTarget = {
  credential: credential("primary"),
  upstreamModel: "gpt-4o",
  weight: 1,
  cumulative: 1,
};

function setup(config: Partial<MetricsConfig> = {}, costs: ActualCost[] = []) {
  const registry = new Registry();
  const table: RequestMetricsTable = {
    orgSlug: (id) => (id === "org" ? "acme" : undefined),
    findRoute: (orgId, model) =>
      orgId === "org" && model === "chat-model" ? ({} as CompiledRoute) : undefined,
    findCredential: (id) => (id === "primary" ? TARGET.credential : undefined),
    actualCosts: () => costs,
  };
  const observer = createRequestMetrics(registry, table, {
    enabled: true,
    userLabel: "hashed",
    maxUsers: 100,
    ...config,
  });
  return { registry, observer };
}

/** One request through the observer's hooks, as handlers/lifecycle.ts calls them. */
function run(
  observer: RequestObserver,
  fill: Partial<Account>,
  status = 200,
  code = "",
  requestType = "chat",
): void {
  const a = openAccount({ headers: {} } as IncomingMessage, requestType);
  const trace = observer.start(a);
  if (fill.key !== undefined) {
    a.key = fill.key;
    trace.authenticated(a);
  }
  Object.assign(a, fill);
  trace.finish(a, status, code);
}

/** The value of the sample with exactly these labels, undefined when absent. */
function sample(text: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of text.split("\n")) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1], l[2]]),
    );
    if (JSON.stringify(Object.entries(got).sort()) === JSON.stringify(Object.entries(labels).sort())) {
      return Number(m[3]);
    }
  }
  return undefined;
}

const served = {
  key: KEY,
  model: "chat-model",
  target: TARGET,
  usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 2, reasoningTokens: 0 },
  costUsd: 0.25,
  durationMs: 1500,
  providerMs: 1000,
  failedAttemptsMs: 200,
};
const route = { organization: "acme", provider: "openai", credential: "primary", model: "chat-model" };

describe("request metrics", () => {
  it("count a served request: requests, durations, overhead, tokens by type, cost; no stream metrics", async () => {
    const { registry, observer } = setup();
    run(observer, served);
    run(observer, served);
    const text = await registry.metrics();
    const full = { ...route, user: HASHED_KEY, request_type: "chat" };
    expect(sample(text, "llm_gateway_requests_total", { ...full, status: "200" })).toBe(2);
    const byRequest = { ...route, request_type: "chat" };
    expect(sample(text, "llm_gateway_request_duration_seconds_count", byRequest)).toBe(2);
    expect(sample(text, "llm_gateway_request_duration_seconds_sum", byRequest)).toBe(3);
    expect(sample(text, "llm_gateway_request_duration_seconds_bucket", { ...byRequest, le: "1" })).toBe(0);
    expect(sample(text, "llm_gateway_request_duration_seconds_bucket", { ...byRequest, le: "2.5" })).toBe(2);
    expect(sample(text, "llm_gateway_provider_duration_seconds_sum", byRequest)).toBeCloseTo(2.4);
    const overhead = { organization: "acme", provider: "openai", request_type: "chat" };
    expect(sample(text, "llm_gateway_gateway_overhead_seconds_sum", overhead)).toBeCloseTo(0.6);
    expect(sample(text, "llm_gateway_tokens_total", { ...full, type: "prompt" })).toBe(20);
    expect(sample(text, "llm_gateway_tokens_total", { ...full, type: "completion" })).toBe(10);
    expect(sample(text, "llm_gateway_tokens_total", { ...full, type: "cached" })).toBe(4);
    expect(sample(text, "llm_gateway_tokens_total", { ...full, type: "reasoning" })).toBeUndefined();
    expect(sample(text, "llm_gateway_estimated_cost_usd_total", full)).toBe(0.5);
    expect(text).not.toMatch(/^llm_gateway_time_to_first_token_seconds_count/m);
    expect(text).not.toMatch(/^llm_gateway_errors_total\{/m);
    expect(sample(text, "llm_gateway_active_requests", { organization: "acme", request_type: "chat" })).toBe(
      0,
    );
  });

  it("observe time to first token for streams only and keep requests active until finish", async () => {
    const { registry, observer } = setup();
    run(observer, { ...served, streamed: true, ttftMs: 300 });
    const a = openAccount({ headers: {} } as IncomingMessage, "embeddings");
    const trace = observer.start(a);
    a.key = KEY;
    trace.authenticated(a);
    trace.authenticated(a); // a second call does not count twice
    const active = { organization: "acme", request_type: "embeddings" };
    expect(sample(await registry.metrics(), "llm_gateway_active_requests", active)).toBe(1);
    trace.finish(a, 200, "");
    trace.finish(a, 200, ""); // nor does a second finish release twice
    const text = await registry.metrics();
    expect(sample(text, "llm_gateway_active_requests", active)).toBe(0);
    const embeddings = { ...route, model: "", provider: "", credential: "", user: HASHED_KEY };
    expect(
      sample(text, "llm_gateway_requests_total", {
        ...embeddings,
        request_type: "embeddings",
        status: "200",
      }),
    ).toBe(1);
    expect(sample(text, "llm_gateway_time_to_first_token_seconds_count", route)).toBe(1);
    expect(sample(text, "llm_gateway_time_to_first_token_seconds_sum", route)).toBe(0.3);
  });

  it("do not count unauthenticated requests", async () => {
    const { registry, observer } = setup();
    run(observer, {}, 401, "invalid_api_key");
    const text = await registry.metrics();
    expect(text).not.toMatch(/^llm_gateway_(requests|errors)_total\{/m);
    expect(text).toContain("# TYPE llm_gateway_requests_total counter");
  });

  it("count errors by status, class and code, keeping client-chosen model names out of the labels", async () => {
    const { registry, observer } = setup({ userLabel: "on" });
    run(observer, { key: KEY, model: "no-such-model-abc" }, 404, "model_not_found");
    run(observer, { key: KEY, model: "" }, 400, "invalid_json");
    run(observer, { ...served, errorClass: ErrorClass.UNAVAILABLE, usage: undefined }, 502, "upstream_error");
    run(
      observer,
      { ...served, errorClass: ErrorClass.RATE_LIMITED, usage: undefined },
      429,
      "upstream_error",
    );
    run(
      observer,
      { key: KEY, model: "chat-model", errorClass: ErrorClass.RATE_LIMITED },
      429,
      "upstream_rate_limited",
    );
    const text = await registry.metrics();
    const noTarget = { organization: "acme", provider: "", credential: "", request_type: "chat" };
    const err = (labels: Record<string, string>) => sample(text, "llm_gateway_errors_total", labels);
    expect(
      err({ ...noTarget, model: "_unknown", status: "404", error_class: "none", code: "model_not_found" }),
    ).toBe(1);
    expect(err({ ...noTarget, model: "", status: "400", error_class: "none", code: "invalid_json" })).toBe(1);
    const byRequest = { ...route, request_type: "chat" };
    expect(err({ ...byRequest, status: "502", error_class: "unavailable", code: "upstream_error" })).toBe(1);
    expect(err({ ...byRequest, status: "429", error_class: "rate_limited", code: "upstream_error" })).toBe(1);
    expect(text).not.toContain("no-such-model-abc");
    const hits = (labels: Record<string, string>) =>
      sample(text, "llm_gateway_rate_limit_hits_total", labels);
    expect(hits({ ...route, user: "key:key-1", source: "provider" })).toBe(1);
    const noTargetHit = { organization: "acme", user: "key:key-1", provider: "", credential: "" };
    expect(hits({ ...noTargetHit, model: "chat-model", source: "provider" })).toBe(1);
    // Requests that never reached a provider have no provider time, cost or tokens.
    expect(
      sample(text, "llm_gateway_provider_duration_seconds_count", { ...noTarget, model: "_unknown" }),
    ).toBe(undefined);
    const gatewayOnly = { organization: "acme", provider: "", request_type: "chat" };
    expect(sample(text, "llm_gateway_gateway_overhead_seconds_count", gatewayOnly)).toBe(3);
  });

  it("bound the user label: on, hashed, off, and _other beyond the maximum", () => {
    const user = (userId: string, id = "k") => ({ id, orgId: "o", userId, expiresAt: 0 });
    const on = createUserLabels({ userLabel: "on", maxUsers: 2 });
    expect([on(user("u1")), on(user("")), on(user("u3")), on(user("u1"))]).toEqual([
      "u1",
      "key:k",
      "_other",
      "u1",
    ]);
    const hashed = createUserLabels({ userLabel: "hashed", maxUsers: 10 });
    expect(hashed(user("u1"))).toBe(createHash("sha256").update("u1").digest("hex").slice(0, 12));
    expect(createUserLabels({ userLabel: "off", maxUsers: 10 })(user("u1"))).toBe("");
    expect(codeLabel("model_not_found")).toBe("model_not_found");
    expect(codeLabel("something_new")).toBe("other");
  });

  it("export actual provider costs at scrape time, the family present without values", async () => {
    const costs: ActualCost[] = [];
    const { registry } = setup({}, costs);
    expect(await registry.metrics()).toContain(
      "# HELP llm_gateway_actual_cost_usd Actual provider spend in USD per billing period, from the providers' billing data.\n# TYPE llm_gateway_actual_cost_usd gauge\n",
    );
    costs.push({
      orgId: "org",
      provider: "openai",
      credentialId: "primary",
      period: "2026-11",
      amountUsd: 12.5,
    });
    const labels = { organization: "acme", provider: "openai", credential: "primary", period: "2026-11" };
    expect(sample(await registry.metrics(), "llm_gateway_actual_cost_usd", labels)).toBe(12.5);
    costs.push({
      orgId: "org",
      provider: "openai",
      credentialId: "primary",
      period: "2026-11",
      amountUsd: 7.5,
    });
    costs.push({ orgId: "org", provider: "openai", credentialId: "", period: "2026-11", amountUsd: 1 });
    const text = await registry.metrics();
    expect(sample(text, "llm_gateway_actual_cost_usd", labels)).toBe(20); // same labels add up
    expect(sample(text, "llm_gateway_actual_cost_usd", { ...labels, credential: "" })).toBe(1);
  });

  it("register no request metrics when disabled", async () => {
    const { registry, observer } = setup({ enabled: false });
    expect(observer).toBe(NO_OBSERVER);
    const text = await registry.metrics();
    expect(text).not.toContain("llm_gateway_requests_total");
    expect(text).toContain("llm_gateway_actual_cost_usd");
  });
});
