/**
 * Analytics at scale: ingests 1,000,000 usage events (through the same
 * ingest path as IngestUsage, rollups included) into a fresh organization,
 * then times every query of the Overview page through the real RPCs.
 *
 *   DATABASE_URL=postgres://… node dist/bench/analytics-overview.js [events]
 *
 * Without DATABASE_URL it runs on embedded PGlite in a temporary directory.
 * Writes bench/results/analytics-overview-<timestamp>.json.
 */
import { randomBytes, randomUUID } from "node:crypto";
import { mkdir, mkdtemp, writeFile } from "node:fs/promises";
import { cpus, tmpdir, totalmem } from "node:os";
import { join } from "node:path";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ingestUsageRows } from "../control-plane/src/analytics/ingest.js";
import type { UsageRecord } from "../control-plane/src/analytics/usage-rows.js";
import { loadControlPlaneConfig } from "../control-plane/src/config.js";
import { startControlPlane } from "../control-plane/src/main.js";
import { generateApiKey } from "../lib/src/api-key.js";
import { createLogger } from "../lib/src/logger.js";
import { projectRoot } from "../lib/src/paths.js";
import { AnalyticsService, Dimension, Metric } from "../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { OrganizationService } from "../proto/gen/llmgateway/v1/organization_service_pb.js";

const EVENTS = Number(process.argv[2] ?? 1_000_000);
const BATCH = 5000;
const RUNS = 20;
const DAY = 24 * 3600 * 1000;

const adminKey = generateApiKey();
const env: Record<string, string> = {
  LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
  LLM_GATEWAY_WORKER_TOKEN: randomBytes(24).toString("hex"),
  LLM_GATEWAY_ADMIN_KEY: adminKey,
  LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
};
if (process.env.DATABASE_URL) env.DATABASE_URL = process.env.DATABASE_URL;
else env.LLM_GATEWAY_DATA_DIR = await mkdtemp(join(tmpdir(), "llmgw-bench-"));

const cp = await startControlPlane(loadControlPlaneConfig(env), createLogger("bench", "warn"));
const transport = createConnectTransport({ baseUrl: cp.url, httpVersion: "2" });
const auth = { headers: { authorization: `Bearer ${adminKey}` } };
const org = await createClient(OrganizationService, transport).createOrganization(
  { slug: `bench-${randomBytes(4).toString("hex")}`, reason: "analytics benchmark" },
  auth,
);
const orgId = org.organization?.id ?? "";
const end = Date.now() - (Date.now() % 60_000);
const start = end - DAY;

// 5 providers, 20 models, 50 credentials, 500 keys, spread over one day.
const providers = ["openai", "anthropic", "groq", "mistral", "bedrock"];
const credentials = Array.from({ length: 50 }, () => randomUUID());
const keys = Array.from({ length: 500 }, () => randomUUID());
const ingestStart = performance.now();
for (let done = 0; done < EVENTS; done += BATCH) {
  const records: UsageRecord[] = [];
  for (let i = done; i < Math.min(done + BATCH, EVENTS); i++) {
    records.push({
      requestId: randomUUID(),
      orgId,
      apiKeyId: keys[i % keys.length] ?? null,
      userId: "",
      provider: providers[i % providers.length] ?? "",
      credentialId: credentials[i % credentials.length] ?? null,
      requestedModel: `model-${i % 20}`,
      servedModel: `model-${i % 20}`,
      requestType: "chat",
      streamed: i % 3 === 0,
      statusCode: i % 97 === 0 ? 429 : 200,
      errorCode: "",
      errorClass: "",
      fallbackDepth: 0,
      promptTokens: 100 + (i % 400),
      completionTokens: 20 + (i % 300),
      cachedTokens: 0,
      reasoningTokens: 0,
      startedAt: start + Math.floor((i / EVENTS) * DAY),
      durationMs: 50 + ((i * 7919) % 2000),
      providerDurationMs: 45,
      timeToFirstTokenMs: 0,
      attempts: 1,
      routingVersion: 1,
      estimatedCostUsd: 0.0004,
    });
  }
  await ingestUsageRows(cp.db, { workerId: "bench", ingestedAt: new Date(), records });
}
const ingestSeconds = (performance.now() - ingestStart) / 1000;

const analytics = createClient(AnalyticsService, transport);
const range = { startTime: timestampFromDate(new Date(start)), endTime: timestampFromDate(new Date(end)) };
const queries: Record<string, () => Promise<unknown>> = {
  overview: () => analytics.getOverview({ orgId, range }, auth),
  "breakdown by provider": () =>
    analytics.getBreakdown({ orgId, range, dimension: Dimension.PROVIDER }, auth),
  "breakdown by model": () => analytics.getBreakdown({ orgId, range, dimension: Dimension.MODEL }, auth),
  "breakdown by credential": () =>
    analytics.getBreakdown({ orgId, range, dimension: Dimension.CREDENTIAL }, auth),
  "breakdown by API key": () => analytics.getBreakdown({ orgId, range, dimension: Dimension.API_KEY }, auth),
  "requests per 5 min": () =>
    analytics.queryTimeSeries({ orgId, range, metric: Metric.REQUESTS, stepSeconds: 300 }, auth),
  "tokens per hour by model": () =>
    analytics.queryTimeSeries(
      { orgId, range, metric: Metric.TOKENS, stepSeconds: 3600, groupBy: Dimension.MODEL },
      auth,
    ),
};
const results: Record<string, { p50Ms: number; maxMs: number }> = {};
for (const [name, run] of Object.entries(queries)) {
  await run(); // warm
  const times: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  results[name] = { p50Ms: times[Math.floor(RUNS / 2)] ?? 0, maxMs: times.at(-1) ?? 0 };
}
const rollupRows = (
  await cp.db.query<{ n: number }>("SELECT count(*)::int AS n FROM usage_rollup_minute WHERE org_id = $1", [
    orgId,
  ])
).rows[0]?.n;
const report = {
  date: new Date().toISOString(),
  machine: {
    cpus: cpus().length,
    model: cpus()[0]?.model,
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
  },
  database: process.env.DATABASE_URL ? "PostgreSQL" : "PGlite",
  events: EVENTS,
  rollupRows,
  ingestSeconds,
  ingestEventsPerSecond: EVENTS / ingestSeconds,
  queriesOver24h: results,
};
await cp.close();
const dir = join(projectRoot(), "bench", "results");
await mkdir(dir, { recursive: true });
const file = join(dir, `analytics-overview-${report.date.replace(/[:.]/g, "-")}.json`);
await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
console.log(JSON.stringify(report, null, 2));
console.log(`written to ${file}`);
