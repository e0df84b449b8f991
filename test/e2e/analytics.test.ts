import { randomBytes, randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AnalyticsService, Dimension, Metric } from "../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const BASE = Date.UTC(2026, 10, 1, 12, 0, 0);
const credentials = [randomUUID(), randomUUID()];

/** Analytics read from the rollups that IngestUsage maintains. */
describe("AnalyticsService", () => {
  let t: TestControlPlane;
  let orgId = "";
  let analyst = "";
  const range = {
    startTime: timestampFromDate(new Date(BASE)),
    endTime: timestampFromDate(new Date(BASE + 10 * 60_000)),
  };

  beforeAll(async () => {
    t = await startTestControlPlane();
    const admin = t.as(t.adminKey);
    const org = await t
      .client(OrganizationService)
      .createOrganization({ slug: `an-${randomBytes(3).toString("hex")}`, reason: "t" }, admin);
    orgId = org.organization?.id ?? "";
    analyst = (
      await t.client(ApiKeyService).createApiKey({ orgId, name: "a", role: Role.ANALYST, reason: "t" }, admin)
    ).key;
    // 1,000 events over 10 minutes: 700 on provider a (10 ms), 300 on provider b (200 ms), every 100th an error.
    const events = Array.from({ length: 1000 }, (_, i) => ({
      requestId: randomUUID(),
      orgId,
      provider: i % 10 < 7 ? "a" : "b",
      servedModel: i % 10 < 7 ? "model-a" : "model-b",
      requestType: "chat",
      statusCode: i % 100 === 0 ? 502 : 200,
      promptTokens: 10n,
      completionTokens: 5n,
      startedAt: timestampFromDate(new Date(BASE + (i % 10) * 60_000 + 1000)),
      durationMs: i % 10 < 7 ? 10 : 200,
      credentialId: credentials[i % 2] ?? "",
      estimatedCostUsd: 0.002,
      userId: i < 100 ? "user-heavy" : "",
    }));
    const worker = t.client(WorkerService);
    const auth = t.as(t.workerToken);
    await worker.ingestUsage({ workerId: "w", events: events.slice(0, 600) }, auth);
    await worker.ingestUsage({ workerId: "w", events: events.slice(400) }, auth); // 200 duplicates
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("overview counts each event once, with errors, tokens and latency percentiles", async () => {
    const o = await t.client(AnalyticsService).getOverview({ orgId, range }, t.as(analyst));
    expect(o.estimatedCostUsd).toBeCloseTo(1000 * 0.002, 9);
    expect(o).toMatchObject({ requests: 1000n, errors: 10n, promptTokens: 10_000n, completionTokens: 5000n });
    expect(o.errorRate).toBeCloseTo(0.01, 6);
    expect(o.requestsPerSecond).toBeCloseTo(1000 / 600, 6);
    expect(o.latencyMeanMs).toBeCloseTo((700 * 10 + 300 * 200) / 1000, 6);
    expect(o.latencyP50Ms).toBeGreaterThanOrEqual(10);
    expect(o.latencyP50Ms).toBeLessThan(15);
    expect(o.latencyP95Ms).toBeGreaterThanOrEqual(150);
    expect(o.latencyP95Ms).toBeLessThan(250);
  });

  it("serves the overview as REST JSON at /rest/v1/llm-gateway/overview", async () => {
    const q = new URLSearchParams({
      org_id: orgId,
      "range.start_time": new Date(BASE).toISOString(),
      "range.end_time": new Date(BASE + 10 * 60_000).toISOString(),
    });
    const res = await fetch(`${t.cp.url}/rest/v1/llm-gateway/overview?${q}`, t.as(analyst));
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ requests: "1000", errors: "10", promptTokens: "10000" });
  });

  it("breaks down by provider and model", async () => {
    const client = t.client(AnalyticsService);
    const byProvider = await client.getBreakdown(
      { orgId, range, dimension: Dimension.PROVIDER },
      t.as(analyst),
    );
    expect(byProvider.rows.map((r) => [r.key, r.requests])).toEqual([
      ["a", 700n],
      ["b", 300n],
    ]);
    const byModel = await client.getBreakdown({ orgId, range, dimension: Dimension.MODEL }, t.as(analyst));
    expect(byModel.rows[1]).toMatchObject({ key: "model-b", requests: 300n, latencyMeanMs: 200 });
  });

  it("breaks down by credential from hourly rollups plus the partial hours at the edges", async () => {
    const client = t.client(AnalyticsService);
    const ts = (ms: number) => timestampFromDate(new Date(ms));
    // Minute m holds requests i with i % 10 = m; credential = i % 2: minutes 0-4 give 300/200, 5-9 give 200/300.
    const cases: Array<[string, number, number, bigint[]]> = [
      ["a range holding whole hours", BASE - 30 * 60_000, BASE + 90 * 60_000, [500n, 500n]],
      ["a range inside one hour", BASE + 5 * 60_000, BASE + 10 * 60_000, [300n, 200n]],
      ["a range ending mid-hour", BASE - 60 * 60_000, BASE + 5 * 60_000, [300n, 200n]],
    ];
    for (const [, start, end, counts] of cases) {
      const res = await client.getBreakdown(
        { orgId, range: { startTime: ts(start), endTime: ts(end) }, dimension: Dimension.CREDENTIAL },
        t.as(analyst),
      );
      expect(res.rows.map((r) => r.key).sort()).toEqual([...credentials].sort());
      expect(res.rows.map((r) => r.requests)).toEqual(counts);
    }
  });

  it("breaks down by user", async () => {
    const byUser = await t
      .client(AnalyticsService)
      .getBreakdown({ orgId, range, dimension: Dimension.USER }, t.as(analyst));
    expect(byUser.rows.map((r) => [r.key, r.requests])).toEqual([
      ["", 900n],
      ["user-heavy", 100n],
    ]);
  });

  it("answers time series per step and per dimension", async () => {
    const client = t.client(AnalyticsService);
    const perMinute = await client.queryTimeSeries({ orgId, range, metric: Metric.REQUESTS }, t.as(analyst));
    expect(perMinute.series).toHaveLength(1);
    expect(perMinute.series[0]?.points.map((p) => p.value)).toEqual(Array(10).fill(100));
    const fiveMin = await client.queryTimeSeries(
      { orgId, range, metric: Metric.TOKENS, stepSeconds: 300, groupBy: Dimension.PROVIDER },
      t.as(analyst),
    );
    expect(fiveMin.series.map((s) => [s.key, s.points.map((p) => p.value)])).toEqual([
      // provider a serves minutes 0-6 (100 requests each), b minutes 7-9; 15 tokens a request
      ["a", [500 * 15, 200 * 15]],
      ["b", [300 * 15]],
    ]);
  });

  it("validates ranges and refuses other tenants", async () => {
    const client = t.client(AnalyticsService);
    const bad = await client
      .getOverview({ orgId, range: { startTime: range.endTime, endTime: range.startTime } }, t.as(analyst))
      .catch((e) => e);
    expect(bad).toBeInstanceOf(ConnectError);
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
    const other = await t
      .client(OrganizationService)
      .createOrganization({ slug: `an2-${randomBytes(3).toString("hex")}`, reason: "t" }, t.as(t.adminKey));
    const denied = await client
      .getOverview({ orgId: other.organization?.id ?? "", range }, t.as(analyst))
      .catch((e) => e);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
  });
});
