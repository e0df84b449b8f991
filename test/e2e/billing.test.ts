import { randomBytes, randomUUID } from "node:crypto";
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { BILLING_SYNC_LOCK_ID, runSyncRound } from "../../control-plane/src/billing/scheduler.js";
import { AnalyticsService } from "../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { AuditService } from "../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { BillingService } from "../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const OPENAI_KEY = `sk-admin-${randomBytes(12).toString("hex")}`;
const ANTHROPIC_KEY = `sk-ant-admin01-${randomBytes(12).toString("hex")}`;
const DAY = 86_400_000;

/**
 * A local stand-in for a provider's cost API: checks the auth headers and the
 * query parameters the real API takes, and serves one bucket per UTC day of
 * the requested range, two buckets per page, following the provider's
 * pagination (`page` = the previous `next_page`).
 */
interface FakeBilling {
  url: string;
  requests: Array<{ path: string; query: URLSearchParams; headers: IncomingMessage["headers"] }>;
  delayMs: number;
  close(): Promise<void>;
}

async function fakeBilling(kind: "openai" | "anthropic"): Promise<FakeBilling> {
  const fake: FakeBilling = { url: "", requests: [], delayMs: 0, close: async () => undefined };
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? "/", "http://fake");
    fake.requests.push({ path: url.pathname, query: url.searchParams, headers: req.headers });
    if (fake.delayMs) await new Promise((r) => setTimeout(r, fake.delayMs));
    const send = (status: number, body: unknown) => {
      res.writeHead(status, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    };
    const q = url.searchParams;
    if (kind === "openai") {
      if (url.pathname !== "/v1/organization/costs") return send(404, { error: { message: "not found" } });
      if (req.headers.authorization !== `Bearer ${OPENAI_KEY}`)
        return send(401, { error: { message: "Incorrect API key provided", type: "invalid_request_error" } });
      if (q.get("bucket_width") !== "1d" || !q.get("limit"))
        return send(400, { error: { message: "bad params" } });
      const start = Number(q.get("start_time")) * 1000;
      const end = Number(q.get("end_time")) * 1000;
      const days = Array.from({ length: Math.ceil((end - start) / DAY) }, (_, i) => start + i * DAY);
      const from = Number(q.get("page") ?? 0);
      const page = days.slice(from, from + 2);
      return send(200, {
        object: "page",
        data: page.map((d, i) => ({
          object: "bucket",
          start_time: d / 1000,
          end_time: d / 1000 + 86_400,
          // two line items a day (0.75 + 1.0), none on the third day of the range
          results:
            (from + i) % 3 === 2
              ? []
              : [
                  {
                    object: "organization.costs.result",
                    amount: { value: 0.75, currency: "usd" },
                    line_item: null,
                  },
                  {
                    object: "organization.costs.result",
                    amount: { value: 1, currency: "usd" },
                    line_item: null,
                  },
                ],
        })),
        has_more: from + 2 < days.length,
        next_page: from + 2 < days.length ? String(from + 2) : null,
      });
    }
    if (url.pathname !== "/v1/organizations/cost_report")
      return send(404, { error: { message: "not found" } });
    if (req.headers["x-api-key"] !== ANTHROPIC_KEY || req.headers["anthropic-version"] !== "2023-06-01")
      return send(401, {
        type: "error",
        error: { type: "authentication_error", message: "invalid x-api-key" },
      });
    const start = Date.parse(q.get("starting_at") ?? "");
    const end = Date.parse(q.get("ending_at") ?? "");
    if (q.get("bucket_width") !== "1d" || Number.isNaN(start) || Number.isNaN(end))
      return send(400, { type: "error", error: { message: "bad params" } });
    const days = Array.from({ length: Math.ceil((end - start) / DAY) }, (_, i) => start + i * DAY);
    const from = q.get("page") ? Number(Buffer.from(q.get("page") ?? "", "base64").toString()) : 0;
    const page = days.slice(from, from + 2);
    const more = from + 2 < days.length;
    return send(200, {
      data: page.map((d) => ({
        starting_at: new Date(d).toISOString().replace(".000Z", "Z"),
        ending_at: new Date(d + DAY).toISOString().replace(".000Z", "Z"),
        // cents as decimal strings: $12.5025 + $0.07 a day
        results: [
          { currency: "USD", amount: "1250.25", workspace_id: null, description: null },
          { currency: "USD", amount: "7", workspace_id: "wrkspc_1", description: null },
        ],
      })),
      has_more: more,
      next_page: more ? Buffer.from(String(from + 2)).toString("base64") : null,
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  fake.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  fake.close = () => new Promise((resolve) => server.close(() => resolve()));
  return fake;
}

describe("BillingService: provider billing sync against local fake cost APIs", () => {
  let t: TestControlPlane;
  let openai: FakeBilling;
  let anthropic: FakeBilling;
  let orgId = "";
  let credentialId = "";
  const admin = () => t.as(t.adminKey);
  const billing = () => t.client(BillingService);

  beforeAll(async () => {
    [t, openai, anthropic] = await Promise.all([
      startTestControlPlane(),
      fakeBilling("openai"),
      fakeBilling("anthropic"),
    ]);
    const org = await t
      .client(OrganizationService)
      .createOrganization({ slug: `bill-${randomBytes(3).toString("hex")}`, reason: "t" }, admin());
    orgId = org.organization?.id ?? "";
    const cred = await t
      .client(CredentialService)
      .createCredential(
        { orgId, provider: "openai", name: "openai-prod", secret: "sk-test-openai-123456789", reason: "t" },
        admin(),
      );
    credentialId = cred.credential?.id ?? "";
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await openai?.close();
    await anthropic?.close();
  });

  it("stores integrations with the admin key sealed and never returned, logged or audited", async () => {
    const put = await billing().putBillingIntegration(
      { orgId, provider: "openai", baseUrl: `${openai.url}/v1`, adminKey: OPENAI_KEY, reason: "finops" },
      admin(),
    );
    expect(put.integration).toMatchObject({ provider: "openai", adminKeyLast4: OPENAI_KEY.slice(-4) });
    await billing().putBillingIntegration(
      {
        orgId,
        provider: "anthropic",
        baseUrl: anthropic.url,
        adminKey: "sk-ant-admin01-wrong-key",
        reason: "finops",
      },
      admin(),
    );
    const list = await billing().listBillingIntegrations({ orgId }, admin());
    expect(list.integrations.map((i) => i.provider)).toEqual(["anthropic", "openai"]);
    const audit = await t.client(AuditService).listAuditEvents({ orgId, pageSize: 100 }, admin());
    const everything = JSON.stringify([list, audit], (_k, v) => (typeof v === "bigint" ? String(v) : v));
    expect(everything).not.toContain(OPENAI_KEY);
    const { rows } = await t.cp.db.query(
      "SELECT admin_key_envelope FROM billing_integrations WHERE org_id = $1",
      [orgId],
    );
    for (const r of rows) expect(Buffer.from(r.admin_key_envelope).includes(OPENAI_KEY)).toBe(false);
    // an update without a key keeps the stored one
    await billing().putBillingIntegration(
      { orgId, provider: "openai", baseUrl: `${openai.url}/v1/`, reason: "same key, new URL form" },
      admin(),
    );
    const missing = await billing()
      .putBillingIntegration({ orgId, provider: "openai-compatible", adminKey: "k", reason: "x" }, admin())
      .catch((e: unknown) => e);
    expect((missing as ConnectError).code).toBe(Code.InvalidArgument);
  });

  it("syncs the OpenAI Costs API: Bearer admin key, unix range, daily buckets, every page", async () => {
    openai.requests.length = 0;
    const res = await billing().syncBilling(
      { orgId, provider: "openai", startDate: "2026-10-01", endDate: "2026-10-06", reason: "first sync" },
      admin(),
    );
    expect(res).toMatchObject({ days: 5, totalUsd: 1.75 * 4 });
    expect(res.integration?.lastSyncStatus).toBe("ok");
    expect(openai.requests.map((r) => r.query.get("page"))).toEqual([null, "2", "4"]);
    for (const r of openai.requests) {
      expect(r.headers.authorization).toBe(`Bearer ${OPENAI_KEY}`);
      expect(r.query.get("start_time")).toBe(String(Date.UTC(2026, 9, 1) / 1000));
      expect(r.query.get("end_time")).toBe(String(Date.UTC(2026, 9, 6) / 1000));
      expect(r.query.get("bucket_width")).toBe("1d");
    }
    const costs = await billing().listActualCosts(
      { orgId, startDate: "2026-10-01", endDate: "2026-11-01" },
      admin(),
    );
    expect(costs.costs.map((c) => [c.day, c.provider, c.credentialId, c.amountUsd, c.source])).toEqual([
      ["2026-10-01", "openai", "", 1.75, "openai-costs"],
      ["2026-10-02", "openai", "", 1.75, "openai-costs"],
      ["2026-10-03", "openai", "", 0, "openai-costs"],
      ["2026-10-04", "openai", "", 1.75, "openai-costs"],
      ["2026-10-05", "openai", "", 1.75, "openai-costs"],
    ]);
    // a re-sync replaces, never adds
    await billing().syncBilling(
      { orgId, provider: "openai", startDate: "2026-10-01", endDate: "2026-10-06", reason: "again" },
      admin(),
    );
    const again = await billing().listActualCosts(
      { orgId, startDate: "2026-10-01", endDate: "2026-11-01" },
      admin(),
    );
    expect(again.costs.reduce((s, c) => s + c.amountUsd, 0)).toBe(7);
  });

  it("reports a refused Anthropic key without the key, then syncs the cost report in cents", async () => {
    const bad = await billing()
      .syncBilling(
        { orgId, provider: "anthropic", startDate: "2026-10-01", endDate: "2026-10-04", reason: "x" },
        admin(),
      )
      .catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(ConnectError);
    expect((bad as ConnectError).code).toBe(Code.Unavailable);
    expect((bad as ConnectError).message).toContain("HTTP 401");
    expect((bad as ConnectError).message).toContain("invalid x-api-key");
    const failed = (await billing().listBillingIntegrations({ orgId }, admin())).integrations[0];
    expect(failed).toMatchObject({ provider: "anthropic", lastSyncStatus: "error" });
    expect(failed?.lastSyncError).not.toContain("wrong-key");

    await billing().putBillingIntegration(
      { orgId, provider: "anthropic", adminKey: ANTHROPIC_KEY, baseUrl: anthropic.url, reason: "right key" },
      admin(),
    );
    anthropic.requests.length = 0;
    const res = await billing().syncBilling(
      { orgId, provider: "anthropic", startDate: "2026-10-01", endDate: "2026-10-04", reason: "sync" },
      admin(),
    );
    expect(res.days).toBe(3);
    expect(res.totalUsd).toBeCloseTo(3 * 12.5725, 9);
    expect(anthropic.requests).toHaveLength(2);
    for (const r of anthropic.requests) {
      expect(r.headers["x-api-key"]).toBe(ANTHROPIC_KEY);
      expect(r.headers["anthropic-version"]).toBe("2023-06-01");
      expect(r.query.get("starting_at")).toBe("2026-10-01T00:00:00Z");
      expect(r.query.get("ending_at")).toBe("2026-10-04T00:00:00Z");
    }
    const costs = await billing().listActualCosts(
      { orgId, startDate: "2026-10-01", endDate: "2026-10-02" },
      admin(),
    );
    expect(costs.costs.find((c) => c.provider === "anthropic")?.amountUsd).toBe(12.5725);
  });

  it("shows estimated against actual cost per provider and credential", async () => {
    // the gateway estimated $1.50 a day on the OpenAI credential; OpenAI billed $1.75 (0 on the 3rd)
    const events = [1, 2, 3, 4, 5].map((d) => ({
      requestId: randomUUID(),
      orgId,
      provider: "openai",
      credentialId,
      servedModel: "gpt-4o",
      statusCode: 200,
      promptTokens: 100n,
      completionTokens: 10n,
      estimatedCostUsd: 1.5,
      startedAt: timestampFromDate(new Date(Date.UTC(2026, 9, d, 12))),
    }));
    await t.client(WorkerService).ingestUsage({ workerId: "w", events }, t.as(t.workerToken));
    const range = {
      startTime: timestampFromDate(new Date(Date.UTC(2026, 9, 1))),
      endTime: timestampFromDate(new Date(Date.UTC(2026, 9, 6))),
    };
    const v = await t.client(AnalyticsService).getCostVariance({ orgId, range }, admin());
    const openaiRow = v.rows.find((r) => r.provider === "openai" && !r.credentialId);
    expect(openaiRow).toMatchObject({ estimatedUsd: 7.5, actualUsd: 7, varianceUsd: -0.5, hasActual: true });
    expect(openaiRow?.variancePercent).toBeCloseTo((-0.5 / 7.5) * 100, 9);
    // the report is organization-wide: the credential has estimates but no credential-level actual cost
    expect(v.rows.find((r) => r.credentialId === credentialId)).toMatchObject({
      label: "openai-prod",
      estimatedUsd: 7.5,
      actualUsd: 0,
      hasActual: false,
    });
    expect(v.rows.find((r) => r.provider === "anthropic")?.estimatedUsd).toBe(0);
  });

  it("runs the periodic sync on one replica at a time (PostgreSQL advisory lock)", async () => {
    await t.cp.db.query("UPDATE billing_integrations SET last_sync_at = NULL WHERE org_id = $1", [orgId]);
    if (t.db.kind === "postgres") {
      // another replica holds the lock: this one does nothing
      const other = new pg.Client({ connectionString: t.db.url });
      await other.connect();
      await other.query("SELECT pg_advisory_lock($1)", [BILLING_SYNC_LOCK_ID]);
      expect(await runSyncRound(t.cp.deps, 60)).toEqual({ ran: false, synced: 0, failed: 0 });
      await other.query("SELECT pg_advisory_unlock($1)", [BILLING_SYNC_LOCK_ID]);
      await other.end();
      // two rounds at once (separate sessions): one runs, the other returns at once
      openai.delayMs = 50;
      const rounds = await Promise.all([runSyncRound(t.cp.deps, 60), runSyncRound(t.cp.deps, 60)]);
      openai.delayMs = 0;
      expect(rounds.map((r) => r.ran).sort()).toEqual([false, true]);
      expect(rounds.find((r) => r.ran)).toMatchObject({ synced: 2, failed: 0 });
    } else {
      expect(await runSyncRound(t.cp.deps, 60)).toEqual({ ran: true, synced: 2, failed: 0 });
    }
    // synced within half the interval: the next round leaves them alone
    expect(await runSyncRound(t.cp.deps, 60)).toEqual({ ran: true, synced: 0, failed: 0 });
    const audit = await t
      .client(AuditService)
      .listAuditEvents({ orgId, filter: { actor: "system:billing-sync" }, pageSize: 10 }, admin());
    expect(audit.events.map((e) => e.action)).toContain("billing.sync");
  });
});
