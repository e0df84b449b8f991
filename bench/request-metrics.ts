/**
 * What the request metrics cost a request, in-process and without I/O:
 *
 *   node dist/bench/request-metrics.js [--iterations 1000000] [--rounds 5]
 *
 * Runs start + authenticated + finish (the hooks handlers/lifecycle.ts calls
 * on every request) `iterations` times over 48 label combinations (3
 * organizations, 4 users, 2 credentials, 2 models, statuses 200/429/502,
 * streams and not), for: no observer (the loop itself), the request metrics
 * with each user-label mode, and, as the reference the design was chosen
 * against, the same updates through prom-client's own metrics with their
 * `labels()` children cached per combination. Reports the median ns per
 * request over the rounds, minus nothing (the "none" row is the baseline),
 * and the time of one scrape. Writes bench/results/request-metrics-<timestamp>.json.
 */

import { mkdir, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { cpus, loadavg, totalmem } from "node:os";
import { join } from "node:path";
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { createLogger } from "../lib/src/logger.js";
import { projectRoot } from "../lib/src/paths.js";
import { ErrorClass } from "../proto/gen/llmgateway/v1/common_pb.js";
import { credential } from "../test/helpers/worker-fixtures.js";
import type { MetricsConfig } from "../worker/src/config.js";
import { type Account, closeAccount, openAccount } from "../worker/src/handlers/account.js";
import { DURATION_BUCKETS, OVERHEAD_BUCKETS, TTFT_BUCKETS } from "../worker/src/metrics/labels.js";
import { createRequestMetrics, type RequestMetricsTable } from "../worker/src/metrics/request-metrics.js";
import { NO_OBSERVER, type RequestObserver } from "../worker/src/observe/observer.js";
import { createCatalogPriceBook } from "../worker/src/pricing/price-book.js";
import type { CompiledRoute, CompiledTarget } from "../worker/src/table/compile.js";
import { createUsageReporter } from "../worker/src/usage/usage-reporter.js";
import { arg } from "./lib/args.js";

const ITERATIONS = Number(arg("iterations", "1000000"));
const ROUNDS = Number(arg("rounds", "5"));

const table: RequestMetricsTable = {
  orgSlug: (id) => `org-${id}`,
  findRoute: () => ({}) as CompiledRoute,
  findCredential: () => undefined,
  actualCosts: () => [],
};

/** The finished accounts the loop cycles through (the observer keeps no reference to them). */
function accounts(): Array<{ a: Account; status: number }> {
  const targets: CompiledTarget[] = ["primary", "backup"].map((id) => ({
    credential: credential(id),
    upstreamModel: "gpt-4o",
    weight: 1,
    cumulative: 1,
  }));
  const out: Array<{ a: Account; status: number }> = [];
  for (const org of ["a", "b", "c"])
    for (const user of ["u1", "u2", "u3", ""])
      for (const [i, target] of targets.entries())
        for (const model of ["chat-model", "small-model"]) {
          const status = [200, 200, 429, 502][out.length % 4] as number;
          const a = openAccount({ headers: {} } as IncomingMessage, "chat");
          Object.assign(a, {
            key: { id: `key-${user || org}`, orgId: org, userId: user, expiresAt: Number.POSITIVE_INFINITY },
            model,
            target,
            streamed: i === 0,
            usage: { promptTokens: 120, completionTokens: 40, cachedTokens: 64, reasoningTokens: 0 },
            costUsd: 0.0007,
            durationMs: 850,
            providerMs: 820,
            failedAttemptsMs: 0,
            ttftMs: 240,
            errorClass: status === 200 ? ErrorClass.UNSPECIFIED : ErrorClass.RATE_LIMITED,
          });
          out.push({ a, status });
        }
  return out;
}

const CODE: Record<number, string> = { 200: "", 429: "upstream_error", 502: "upstream_error" };

/** About the same updates through prom-client's metrics, `labels()` children cached per combination. */
function promClientChildren(registry: Registry): RequestObserver {
  const base = ["organization", "provider", "credential", "model", "request_type"];
  const requests = new Counter({
    name: "r_total",
    help: "r",
    labelNames: ["organization", "user", ...base.slice(1), "status"],
    registers: [registry],
  });
  const histogram = (name: string, labelNames: string[], buckets: readonly number[]) =>
    new Histogram({ name, help: name, labelNames, buckets: [...buckets], registers: [registry] });
  const duration = histogram("d_seconds", base, DURATION_BUCKETS);
  const provider = histogram("p_seconds", base, DURATION_BUCKETS);
  const overhead = histogram("o_seconds", ["organization", "provider", "request_type"], OVERHEAD_BUCKETS);
  const ttft = histogram("t_seconds", base.slice(0, 4), TTFT_BUCKETS);
  const active = new Gauge({
    name: "a",
    help: "a",
    labelNames: ["organization", "request_type"],
    registers: [registry],
  });
  const userBase = ["organization", "user", ...base.slice(1)];
  const tokens = new Counter({
    name: "k_total",
    help: "k",
    labelNames: [...userBase, "type"],
    registers: [registry],
  });
  const cost = new Counter({ name: "c_total", help: "c", labelNames: userBase, registers: [registry] });
  const errors = new Counter({
    name: "e_total",
    help: "e",
    labelNames: [...base, "status"],
    registers: [registry],
  });
  type Children = ReturnType<typeof makeChildren>;
  function makeChildren(org: string, user: string, p: string, c: string, m: string, t: string, s: string) {
    return {
      requests: requests.labels(org, user, p, c, m, t, s),
      duration: duration.labels(org, p, c, m, t),
      provider: provider.labels(org, p, c, m, t),
      overhead: overhead.labels(org, p, t),
      ttft: ttft.labels(org, p, c, m),
      prompt: tokens.labels(org, user, p, c, m, t, "prompt"),
      completion: tokens.labels(org, user, p, c, m, t, "completion"),
      cached: tokens.labels(org, user, p, c, m, t, "cached"),
      cost: cost.labels(org, user, p, c, m, t),
      errors: errors.labels(org, p, c, m, t, s),
    };
  }
  const cache = new Map<string, Children>();
  return {
    start() {
      let org = "";
      return {
        authenticated(a) {
          org = table.orgSlug(a.key?.orgId ?? "") ?? "";
          active.labels(org, a.requestType).inc();
        },
        attempt: () => ({ end: () => {} }),
        committed() {},
        finish(a, status) {
          active.labels(org, a.requestType).dec();
          const key = a.key;
          const t = a.target;
          if (!key || !t) return;
          const user = key.userId || `key:${key.id}`;
          const p = t.credential.provider.id;
          const c = t.credential.entry.name;
          const id = [org, user, p, c, a.model, a.requestType, status].join("\u0001");
          let ch = cache.get(id);
          if (!ch) {
            ch = makeChildren(org, user, p, c, a.model, a.requestType, String(status));
            cache.set(id, ch);
          }
          ch.requests.inc();
          ch.duration.observe(a.durationMs / 1000);
          ch.provider.observe((a.providerMs + a.failedAttemptsMs) / 1000);
          ch.overhead.observe((a.durationMs - a.providerMs - a.failedAttemptsMs) / 1000);
          if (a.streamed) ch.ttft.observe(a.ttftMs / 1000);
          ch.prompt.inc(a.usage?.promptTokens ?? 0);
          ch.completion.inc(a.usage?.completionTokens ?? 0);
          ch.cached.inc(a.usage?.cachedTokens ?? 0);
          ch.cost.inc(a.costUsd);
          if (status >= 400) ch.errors.inc();
        },
      };
    },
  };
}

function loop(observer: RequestObserver, list: Array<{ a: Account; status: number }>, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { a, status } = list[i % list.length] as { a: Account; status: number };
    const trace = observer.start(a);
    trace.authenticated(a);
    trace.finish(a, status, CODE[status] ?? "");
  }
  return Number(process.hrtime.bigint() - t0) / n;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
const config = (userLabel: MetricsConfig["userLabel"]): MetricsConfig => ({
  enabled: true,
  userLabel,
  maxUsers: 1000,
});
const variants: Array<{ name: string; make: (r: Registry) => RequestObserver }> = [
  { name: "none (NO_OBSERVER)", make: () => NO_OBSERVER },
  {
    name: "request metrics, user label hashed",
    make: (r) => createRequestMetrics(r, table, config("hashed")),
  },
  { name: "request metrics, user label on", make: (r) => createRequestMetrics(r, table, config("on")) },
  { name: "request metrics, user label off", make: (r) => createRequestMetrics(r, table, config("off")) },
  { name: "reference: prom-client labels() children, cached", make: (r) => promClientChildren(r) },
];

/**
 * Usage accounting as lifecycle.finish does it, without the observer: the
 * price estimate and the usage event built into the reporter's buffer. The
 * reporter points at a closed port and never flushes during the loop (its
 * delivery is asynchronous and batched, off the request path).
 */
function accountingLoop(list: Array<{ a: Account; status: number }>, n: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const { a, status } = list[i % list.length] as { a: Account; status: number };
    const key = a.key;
    const target = a.target;
    if (key && target)
      a.costUsd = prices.estimate(key.orgId, target.credential.provider.id, target.upstreamModel, a.usage, 0);
    closeAccount(usage, a, status, CODE[status] ?? "", 1);
  }
  return Number(process.hrtime.bigint() - t0) / n;
}
const prices = createCatalogPriceBook();
const usage = createUsageReporter({
  controlPlaneUrl: "http://127.0.0.1:9",
  workerToken: "bench",
  workerId: "bench",
  log: createLogger("bench", "silent"),
  maxBuffered: 100_000,
  batchSize: Number.MAX_SAFE_INTEGER,
  flushIntervalMs: 2 ** 30,
});

const list = accounts();
const results = [];
for (const v of variants) {
  const registry = new Registry();
  const observer = v.make(registry);
  loop(observer, list, Math.min(ITERATIONS, 200_000)); // warm-up: JIT, every series created
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(loop(observer, list, ITERATIONS));
  const s0 = process.hrtime.bigint();
  const text = await registry.metrics();
  const scrapeMs = Number(process.hrtime.bigint() - s0) / 1e6;
  const series = text.split("\n").filter((l) => l !== "" && !l.startsWith("#")).length;
  results.push({
    variant: v.name,
    nsPerRequest: Math.round(median(rounds) * 10) / 10,
    rounds,
    scrapeMs,
    series,
  });
  console.log(
    `${v.name.padEnd(52)} ${median(rounds).toFixed(1).padStart(8)} ns/request  scrape ${scrapeMs.toFixed(2)} ms, ${series} samples`,
  );
}

{
  accountingLoop(list, Math.min(ITERATIONS, 200_000)); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) rounds.push(accountingLoop(list, ITERATIONS));
  const name = "usage accounting: price estimate + usage event";
  results.push({
    variant: name,
    nsPerRequest: Math.round(median(rounds) * 10) / 10,
    rounds,
    scrapeMs: 0,
    series: 0,
  });
  console.log(`${name.padEnd(52)} ${median(rounds).toFixed(1).padStart(8)} ns/request`);
  await usage.close(0);
}

const out = {
  benchmark: "request-metrics",
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    cpu: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    /** 1, 5 and 15 minute load averages at the end: other work on the machine skews the figures. */
    loadAverage: loadavg(),
  },
  iterations: ITERATIONS,
  rounds: ROUNDS,
  labelCombinations: list.length,
  results,
};
const dir = join(projectRoot(), "bench", "results");
await mkdir(dir, { recursive: true });
const file = join(dir, `request-metrics-${out.date.replaceAll(":", "-").replace(".", "-")}.json`);
await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`written to ${file}`);
