import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { type AddressInfo, createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FaultRule } from "../../mock-provider/src/faults.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import type { ActualCost } from "../../worker/src/metrics/actual-cost.js";
import { createCatalogPriceBook } from "../../worker/src/pricing/price-book.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * The request metrics as a real Prometheus (Debian's package) scrapes them:
 * a job with a metrics token in `authorization.credentials_file`, one with a
 * wrong token, traffic of every kind, and each metric read back through the
 * HTTP query API; `promtool check metrics` lints the exposition. Without the
 * binaries the file is skipped locally and fails in CI.
 */
const binary = (name: string) => {
  if (existsSync(`/usr/bin/${name}`)) return `/usr/bin/${name}`;
  const which = spawnSync("which", [name], { encoding: "utf8" });
  return which.status === 0 ? which.stdout.trim() : undefined;
};
const PROMETHEUS = binary("prometheus");
const PROMTOOL = binary("promtool");
const IN_CI = process.env.CI === "true";

let gw: TestGateway;
let prometheus: ChildProcess | undefined;
let promUrl = "";
let dir = "";
let token = "";
const promLog: string[] = [];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as AddressInfo;
      s.close(() => resolve(port));
    });
  });

/** Prometheus on loopback scraping the worker every second: job "gateway" with the token, "wrong-token". */
async function startPrometheus(workerHostPort: string): Promise<void> {
  dir = mkdtempSync(join(tmpdir(), "llmgw-prometheus-"));
  writeFileSync(join(dir, "token"), token, { mode: 0o600 });
  writeFileSync(join(dir, "wrong-token"), "lgm_not-a-valid-token", { mode: 0o600 });
  const job = (name: string) => ({
    job_name: name,
    metrics_path: "/metrics/ai-gateway",
    authorization: { type: "Bearer", credentials_file: join(dir, name === "gateway" ? "token" : name) },
    static_configs: [{ targets: [workerHostPort] }],
  });
  const config = {
    global: { scrape_interval: "1s", scrape_timeout: "1s" },
    scrape_configs: [job("gateway"), job("wrong-token")],
  };
  writeFileSync(join(dir, "prometheus.yml"), JSON.stringify(config, null, 2)); // JSON is YAML
  const port = await freePort();
  promUrl = `http://127.0.0.1:${port}`;
  const args = [`--config.file=${join(dir, "prometheus.yml")}`, `--storage.tsdb.path=${join(dir, "data")}`];
  args.push(`--web.listen-address=127.0.0.1:${port}`, "--log.level=warn");
  prometheus = spawn(PROMETHEUS as string, args);
  prometheus.stderr?.on("data", (d: Buffer) => promLog.push(d.toString()));
  const ready = () =>
    fetch(`${promUrl}/-/ready`).then(
      (r) => r.ok,
      () => false,
    );
  const until = Date.now() + 20_000;
  while (!(await ready())) {
    if (prometheus.exitCode !== null || Date.now() > until)
      throw new Error(`prometheus: ${promLog.join("")}`);
    await sleep(100);
  }
}

interface Series {
  metric: Record<string, string>;
  value: [number, string];
}

async function query(expr: string): Promise<Series[]> {
  const res = await fetch(`${promUrl}/api/v1/query?query=${encodeURIComponent(expr)}`);
  const body = (await res.json()) as { status: string; data?: { result: Series[] }; error?: string };
  if (body.status !== "success") throw new Error(`${expr}: ${body.error}`);
  return body.data?.result ?? [];
}

/** The single value of `expr` once it equals `want` (Prometheus scrapes every second), else fails. */
async function eventually(expr: string, want: number, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let got: Series[] = [];
  while (Date.now() < until) {
    got = await query(expr);
    if (got.length === 1 && Number(got[0]?.value[1]) === want) return;
    await sleep(250);
  }
  const seen = got.map((s) => ({ ...s.metric, value: s.value[1] }));
  expect(seen, expr).toEqual([{ value: String(want) }]);
}

/** `llm_gateway_<name>{job="gateway",…labels}` once it equals `want`. */
const value = (name: string, labels: Record<string, string>, want: number, timeoutMs?: number) =>
  eventually(`llm_gateway_${name}${sel(labels)}`, want, timeoutMs);

/** No series of `llm_gateway_<name>` has these labels. */
const none = async (name: string, labels: Record<string, string>) =>
  expect(await query(`llm_gateway_${name}${sel(labels)}`)).toEqual([]);

/** `{a="x",…}` with the job's label added. */
const sel = (labels: Record<string, string>) =>
  `{${Object.entries({ job: "gateway", ...labels })
    .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
    .join(",")}}`;

describe.skipIf(!(PROMETHEUS && PROMTOOL) && !IN_CI)("Prometheus scraping the request metrics", () => {
  let org = "";
  let user = "";
  const chat = (model: string) =>
    gw.openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });
  /** Credential name (as labelled) and id by role. */
  const names: Record<string, string> = {};
  const ids: Record<string, string> = {};

  beforeAll(async () => {
    if (!PROMETHEUS || !PROMTOOL) {
      throw new Error("prometheus and promtool are required in CI: apt-get install -y prometheus");
    }
    gw = await startTestGateway({ secrets: 6, workerEnv: { LLM_GATEWAY_SAME_TARGET_RETRIES: "0" } });
    const faults: FaultRule[] = [];
    for (const [role, provider, model, upstreamModel, fault] of [
      ["ok", "openai", "chat-model", "gpt-4o", {}],
      ["bad", "openai-compatible", "broken", "mock-small", { status: 500 }],
      ["limited", "openai-compatible", "limited", "mock-small", { status: 429 }],
      ["slow", "openai", "slow", "gpt-4o", { latencyMs: 4000 }],
    ] as const) {
      const c = await gw.credential({ provider });
      ids[role] = c.id;
      faults.push({ match: { apiKey: c.secret }, ...fault });
      await gw.route(model, [{ credentialId: c.id, upstreamModel }]);
    }
    await gw.route("embed-model", [
      { credentialId: ids.ok as string, upstreamModel: "text-embedding-3-small" },
    ]);
    gw.mock.setFaults(faults);
    const created = await gw.cp
      .client(MetricsTokenService)
      .createMetricsToken({ name: "prometheus", reason: "test" }, gw.cp.as(gw.cp.adminKey));
    token = created.token;
    await gw.synced();
    for (const [role, id] of Object.entries(ids))
      names[role] = gw.worker.table.findCredential(id)?.entry.name ?? "?";
    org = gw.worker.table.orgSlug(gw.orgId) ?? "";
    const key = gw.worker.table.findKey(createHash("sha256").update(gw.apiKey).digest().toString("latin1"));
    const raw = key?.userId ? key.userId : `key:${key?.id}`;
    user = createHash("sha256").update(raw).digest("hex").slice(0, 12); // LLM_GATEWAY_METRICS_USER_LABEL=hashed
    await startPrometheus(new URL(gw.worker.url).host);
  }, 60_000);

  afterAll(async () => {
    if (prometheus && prometheus.exitCode === null) {
      const exited = new Promise((r) => prometheus?.once("exit", r));
      prometheus.kill("SIGTERM");
      await exited;
    }
    await gw?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it("scrapes with the metrics token; the wrong token's target is down with 401", async () => {
    const until = Date.now() + 15_000;
    let targets: Array<{ labels: { job: string }; health: string; lastError: string }> = [];
    while (Date.now() < until) {
      const res = await fetch(`${promUrl}/api/v1/targets`);
      targets = ((await res.json()) as { data: { activeTargets: typeof targets } }).data.activeTargets;
      if (targets.length === 2 && targets.every((t) => t.health !== "unknown")) break;
      await sleep(250);
    }
    const byJob = Object.fromEntries(targets.map((t) => [t.labels.job, t]));
    expect(byJob.gateway).toMatchObject({ health: "up", lastError: "" });
    expect(byJob["wrong-token"]?.health).toBe("down");
    expect(byJob["wrong-token"]?.lastError).toContain("401");
  });

  it("reads back requests, durations, tokens, cost, errors and rate-limit hits with their labels", async () => {
    const stream = (model: string) =>
      gw.openai.chat.completions.create({
        model,
        messages: [{ role: "user", content: "hello there" }],
        stream: true,
        stream_options: { include_usage: true },
      });
    let prompt = 0;
    let completion = 0;
    for (let i = 0; i < 3; i++) {
      const r = await chat("chat-model");
      prompt += r.usage?.prompt_tokens ?? 0;
      completion += r.usage?.completion_tokens ?? 0;
    }
    for (let i = 0; i < 2; i++) {
      for await (const chunk of await stream("chat-model")) {
        prompt += chunk.usage?.prompt_tokens ?? 0;
        completion += chunk.usage?.completion_tokens ?? 0;
      }
    }
    let embedded = 0;
    for (let i = 0; i < 2; i++) {
      const r = await gw.openai.embeddings.create({ model: "embed-model", input: "some text to embed" });
      embedded += r.usage.prompt_tokens;
    }
    for (let i = 0; i < 2; i++) await expect(chat("broken")).rejects.toMatchObject({ status: 500 });
    await expect(chat("limited")).rejects.toMatchObject({ status: 429 });
    await expect(chat("no-such-model")).rejects.toMatchObject({ status: 404 });
    const unauthenticated = await fetch(`${gw.worker.url}/v1/chat/completions`, { method: "POST" });
    expect(unauthenticated.status).toBe(401);
    expect(prompt).toBeGreaterThan(0);

    // One scrape holds all of it once the total is there.
    await eventually(`sum(llm_gateway_requests_total${sel({})})`, 11);
    const ok = { organization: org, provider: "openai", credential: names.ok as string };
    const chatModel = { ...ok, model: "chat-model", request_type: "chat" };
    await value("requests_total", { ...chatModel, user, status: "200" }, 5);
    const embed = { ...ok, user, model: "embed-model", request_type: "embeddings" };
    await value("requests_total", { ...embed, status: "200" }, 2);
    await none("requests_total", { status: "401" }); // unauthenticated: not counted

    await value("request_duration_seconds_count", chatModel, 5);
    await value("provider_duration_seconds_count", chatModel, 5);
    await value("provider_duration_seconds_count", { model: "broken" }, 2);
    await none("provider_duration_seconds_count", { model: "_unknown" }); // no provider call
    const overhead = { organization: org, request_type: "chat" };
    await value("gateway_overhead_seconds_count", { ...overhead, provider: "openai" }, 5);
    await value("gateway_overhead_seconds_count", { ...overhead, provider: "openai-compatible" }, 3);
    await value("gateway_overhead_seconds_count", { ...overhead, provider: "" }, 1); // model_not_found
    await value("time_to_first_token_seconds_count", { ...ok, model: "chat-model" }, 2);
    await value("active_requests", overhead, 0);

    await value("tokens_total", { ...chatModel, user, type: "prompt" }, prompt);
    await value("tokens_total", { ...chatModel, user, type: "completion" }, completion);
    await value("tokens_total", { ...embed, type: "prompt" }, embedded);

    // The worker's own price book is the reference: cost is linear in the tokens.
    const usage = { promptTokens: prompt, completionTokens: completion, cachedTokens: 0, reasoningTokens: 0 };
    const expected = createCatalogPriceBook().estimate(gw.orgId, "openai", "gpt-4o", usage, Date.now());
    const cost = await query(`llm_gateway_estimated_cost_usd_total${sel({ ...chatModel, user })}`);
    expect(expected).toBeGreaterThan(0);
    expect(Number(cost[0]?.value[1])).toBeCloseTo(expected, 12);

    const compatible = (role: string) => ({ provider: "openai-compatible", credential: `${names[role]}` });
    const error = (status: string, cls: string, code: string) => ({
      ...overhead,
      status,
      error_class: cls,
      code,
    });
    const limited = { ...compatible("limited"), model: "limited" };
    const bad = { ...compatible("bad"), model: "broken" };
    await value("errors_total", { ...bad, ...error("500", "unavailable", "upstream_error") }, 2);
    await value("errors_total", { ...limited, ...error("429", "rate_limited", "upstream_error") }, 1);
    await value("errors_total", { model: "_unknown", ...error("404", "none", "model_not_found") }, 1);
    await eventually(`sum(llm_gateway_errors_total${sel({})})`, 4);
    await value("rate_limit_hits_total", { ...limited, organization: org, user, source: "provider" }, 1);
  }, 60_000);

  it("shows a request in flight in llm_gateway_active_requests until it finishes", async () => {
    const active = { organization: org, request_type: "chat" };
    const slow = chat("slow");
    await value("active_requests", active, 1, 3500);
    await slow;
    await value("active_requests", active, 0);
    await value("requests_total", { model: "slow", status: "200" }, 1);
  }, 30_000);

  it("exports actual provider costs from the routing table at scrape time", async () => {
    const period = "2026-11";
    const costs: ActualCost[] = [
      { orgId: gw.orgId, provider: "openai", credentialId: ids.ok as string, period, amountUsd: 42.5 },
    ];
    gw.worker.table.actualCosts = () => costs; // stands in for the billing sync
    const labels = { organization: org, provider: "openai", credential: names.ok as string, period };
    await value("actual_cost_usd", labels, 42.5);
  });

  it("serves an exposition promtool accepts, without the token in it", async () => {
    const headers = { authorization: `Bearer ${token}` };
    const text = await (await fetch(`${gw.worker.url}/metrics/ai-gateway`, { headers })).text();
    for (const name of ["actual_cost_usd", "requests_total", "errors_total", "active_requests"]) {
      expect(text).toContain(`# HELP llm_gateway_${name} `);
    }
    expect(text).not.toContain(token);
    const lint = spawnSync(PROMTOOL as string, ["check", "metrics"], { input: text, encoding: "utf8" });
    const out = `${lint.stdout}${lint.stderr}`.trim();
    expect({ status: lint.status, out }).toEqual({ status: 0, out: "" });
  });
});
