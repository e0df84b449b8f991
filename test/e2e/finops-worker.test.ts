import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estimateCost } from "../../lib/src/pricing-catalog.js";
import { BillingService } from "../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { PricingService } from "../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

const now = new Date();
const thisMonth = now.toISOString().slice(0, 7);
const lastMonth = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() - 1, 1))
  .toISOString()
  .slice(0, 7);

/** Organization price overrides and actual costs reach the workers through the routing table. */
describe("FinOps on the worker", () => {
  let gw: TestGateway;
  let credentialId = "";
  const admin = () => gw.cp.as(gw.cp.adminKey);
  const override = { inputPerMillion: 1.25, outputPerMillion: 5, cachedInputPerMillion: 0.5 };

  beforeAll(async () => {
    gw = await startTestGateway();
    credentialId = (await gw.credential({ provider: "openai" })).id;
    await gw.route("priced", [{ credentialId, upstreamModel: "gpt-4o" }]);
  }, 60_000);

  afterAll(async () => {
    await gw?.close();
  });

  async function usageOf(requestId: string) {
    const until = Date.now() + 10_000;
    for (;;) {
      const { rows } = await gw.cp.cp.db.query(
        "SELECT prompt_tokens, completion_tokens, cached_tokens, estimated_cost_usd FROM usage_events WHERE request_id = $1",
        [requestId],
      );
      if (rows[0]) return rows[0];
      if (Date.now() > until) throw new Error("usage event not ingested");
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  it("prices requests with the organization's override once workers have it", async () => {
    await gw.cp.client(PricingService).putPriceOverride(
      {
        orgId: gw.orgId,
        price: { provider: "openai", model: "gpt-4o", ...override, effectiveFrom: "2020-01-01" },
        reason: "negotiated rate",
      },
      admin(),
    );
    await gw.synced();
    expect(gw.worker.table.priceOverride(gw.orgId, "openai", "gpt-4o")).toMatchObject(override);
    const res = await gw.openai.chat.completions
      .create({ model: "priced", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const requestId = res.response.headers.get("x-request-id") ?? "";
    const row = await usageOf(requestId);
    expect(row.prompt_tokens).toBeGreaterThan(0);
    // the worker's estimate, at the override's prices, exactly
    expect(row.estimated_cost_usd).toBe(
      estimateCost(override, row.prompt_tokens, row.completion_tokens, row.cached_tokens),
    );
    expect(row.estimated_cost_usd).not.toBe(
      estimateCost(
        { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 },
        row.prompt_tokens,
        row.completion_tokens,
        row.cached_tokens,
      ),
    );
  });

  it("drops a deleted override from the workers: back to the catalog", async () => {
    await gw.cp
      .client(PricingService)
      .deletePriceOverride(
        { orgId: gw.orgId, provider: "openai", model: "gpt-4o", reason: "contract ended" },
        admin(),
      );
    await gw.synced();
    expect(gw.worker.table.priceOverride(gw.orgId, "openai", "gpt-4o")).toBeUndefined();
    const res = await gw.openai.chat.completions
      .create({ model: "priced", messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const row = await usageOf(res.response.headers.get("x-request-id") ?? "");
    const catalog = { inputPerMillion: 2.5, outputPerMillion: 10, cachedInputPerMillion: 1.25 };
    expect(row.estimated_cost_usd).toBe(
      estimateCost(catalog, row.prompt_tokens, row.completion_tokens, row.cached_tokens),
    );
  });

  it("hands workers month-to-date and last-month actual cost per provider and credential", async () => {
    const d = (month: string, day: string) => `${month}-${day}`;
    const name = (
      await gw.cp.cp.db.query<{ name: string }>("SELECT name FROM credentials WHERE id = $1", [credentialId])
    ).rows[0]?.name;
    const csv = [
      `${d(thisMonth, "01")},openai,${name},10.5`,
      `${d(lastMonth, "02")},openai,${name},40`,
      `${d(lastMonth, "03")},openai,${name},2.25`,
      `${d(lastMonth, "03")},openai,,7`,
    ].join("\n");
    await gw.cp
      .client(BillingService)
      .importActualCosts({ orgId: gw.orgId, csv, reason: "invoice" }, admin());
    await gw.synced();
    const mine = [...gw.worker.table.actualCosts()]
      .filter((c) => c.orgId === gw.orgId)
      .sort((a, b) => a.period.localeCompare(b.period) || a.credentialId.localeCompare(b.credentialId));
    expect(mine).toEqual([
      { orgId: gw.orgId, provider: "openai", credentialId: "", period: lastMonth, amountUsd: 7 },
      { orgId: gw.orgId, provider: "openai", credentialId, period: lastMonth, amountUsd: 42.25 },
      { orgId: gw.orgId, provider: "openai", credentialId, period: thisMonth, amountUsd: 10.5 },
    ]);
    // a correction replaces the day's amount; the worker's month total follows
    await gw.cp
      .client(BillingService)
      .importActualCosts(
        { orgId: gw.orgId, csv: `${d(thisMonth, "01")},openai,${name},11`, reason: "fix" },
        admin(),
      );
    await gw.synced();
    const current = [...gw.worker.table.actualCosts()].find(
      (c) => c.orgId === gw.orgId && c.period === thisMonth,
    );
    expect(current?.amountUsd).toBe(11);
  });
});
