import { randomBytes, randomUUID } from "node:crypto";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, type ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  AnalyticsService,
  BreakdownOrder,
  Dimension,
  Metric,
} from "../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { PolicyService } from "../../proto/gen/llmgateway/v1/policy_service_pb.js";
import { BudgetAction } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const HOUR = 3_600_000;
const BASE = Date.UTC(2026, 9, 15, 10); // the current period is [BASE, BASE + 1h), the previous the hour before
const ts = (ms: number) => timestampFromDate(new Date(ms));
const current = { startTime: ts(BASE), endTime: ts(BASE + HOUR) };

/**
 * Spend analytics from the rollups. Costs are binary fractions (0.5, 0.125,
 * 0.0625 …) so the sums are exact and compared with toBe.
 */
describe("AnalyticsService FinOps views", () => {
  let t: TestControlPlane;
  let orgA = "";
  let orgB = "";
  let slugA = "";
  let cred = "";
  let k1 = "";
  let k2 = "";
  let orgAdmin = "";
  const admin = () => t.as(t.adminKey);
  const analytics = () => t.client(AnalyticsService);

  beforeAll(async () => {
    t = await startTestControlPlane();
    const orgs = t.client(OrganizationService);
    slugA = `fa-${randomBytes(3).toString("hex")}`;
    orgA = (await orgs.createOrganization({ slug: slugA, reason: "t" }, admin())).organization?.id ?? "";
    orgB =
      (await orgs.createOrganization({ slug: `fb-${randomBytes(3).toString("hex")}`, reason: "t" }, admin()))
        .organization?.id ?? "";
    const keys = t.client(ApiKeyService);
    const key = async (name: string, role = Role.MEMBER) =>
      (await keys.createApiKey({ orgId: orgA, name, role, reason: "t" }, admin())).apiKey?.id ?? "";
    [k1, k2] = [await key("batch-jobs"), await key("chat-app")];
    orgAdmin = (await keys.createApiKey({ orgId: orgA, name: "adm", role: Role.ADMIN, reason: "t" }, admin()))
      .key;
    cred =
      (
        await t
          .client(CredentialService)
          .createCredential(
            { orgId: orgA, provider: "openai", name: "openai-main", secret: "sk-x-123456789", reason: "t" },
            admin(),
          )
      ).credential?.id ?? "";
    const ev = (orgId: string, at: number, model: string, provider: string, cost: number, extra = {}) => ({
      requestId: randomUUID(),
      orgId,
      provider,
      servedModel: model,
      statusCode: 200,
      promptTokens: 100n,
      completionTokens: 20n,
      estimatedCostUsd: cost,
      startedAt: ts(at),
      ...extra,
    });
    const events = [
      // current hour: gpt-4o 10 x 0.5 (k1, k2 alternating), claude 5 x 2 (user alice, no key), mini 16 x 0.0625 (k2)
      ...Array.from({ length: 10 }, (_, i) =>
        ev(orgA, BASE + i * 60_000, "gpt-4o", "openai", 0.5, {
          apiKeyId: i % 2 ? k2 : k1,
          credentialId: cred,
        }),
      ),
      ...Array.from({ length: 5 }, (_, i) =>
        ev(orgA, BASE + i * 60_000, "claude", "anthropic", 2, { userId: "alice" }),
      ),
      ...Array.from({ length: 16 }, (_, i) =>
        ev(orgA, BASE + i * 60_000, "mini", "openai", 0.0625, { apiKeyId: k2, credentialId: cred }),
      ),
      // previous hour: gpt-4o 10 x 0.125 (k1), claude 5 x 2.5
      ...Array.from({ length: 10 }, (_, i) =>
        ev(orgA, BASE - HOUR + i * 60_000, "gpt-4o", "openai", 0.125, { apiKeyId: k1, credentialId: cred }),
      ),
      ...Array.from({ length: 5 }, (_, i) => ev(orgA, BASE - HOUR + i * 60_000, "claude", "anthropic", 2.5)),
      ev(orgB, BASE, "gpt-4o", "openai", 3),
    ];
    await t.client(WorkerService).ingestUsage({ workerId: "w", events }, t.as(t.workerToken));
    const policies = t.client(PolicyService);
    const budget = (monthlyBudgetUsd: number, budgetAction: BudgetAction) => ({
      monthlyBudgetUsd,
      budgetAction,
    });
    await policies.putPolicy({ orgId: orgA, policy: budget(20, BudgetAction.BLOCK), reason: "t" }, admin());
    await policies.putPolicy(
      { orgId: orgA, apiKeyId: k1, policy: budget(4, BudgetAction.ALERT), reason: "t" },
      admin(),
    );
    await policies.putPolicy(
      { orgId: orgA, apiKeyId: k2, policy: { requestsPerMinute: 10 }, reason: "t" },
      admin(),
    );
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("breaks spend down by provider, most requests or most cost first", async () => {
    const by = async (orderBy: BreakdownOrder) =>
      (
        await analytics().getBreakdown(
          { orgId: orgA, range: current, dimension: Dimension.PROVIDER, orderBy },
          admin(),
        )
      ).rows;
    expect(
      (await by(BreakdownOrder.UNSPECIFIED)).map((r) => [r.key, r.requests, r.estimatedCostUsd]),
    ).toEqual([
      ["openai", 26n, 6],
      ["anthropic", 5n, 10],
    ]);
    expect((await by(BreakdownOrder.ESTIMATED_COST)).map((r) => r.key)).toEqual(["anthropic", "openai"]);
  });

  it("labels credential and key rows with their names, and breaks down by model and user", async () => {
    const rows = async (dimension: Dimension) =>
      (
        await analytics().getBreakdown(
          { orgId: orgA, range: current, dimension, orderBy: BreakdownOrder.ESTIMATED_COST },
          admin(),
        )
      ).rows.map((r) => [r.key, r.label, r.estimatedCostUsd]);
    expect(await rows(Dimension.CREDENTIAL)).toEqual([
      ["", "", 10],
      [cred, "openai-main", 6],
    ]);
    expect(await rows(Dimension.API_KEY)).toEqual([
      ["", "", 10],
      [k2, "chat-app", 3.5],
      [k1, "batch-jobs", 2.5],
    ]);
    expect(await rows(Dimension.MODEL)).toEqual([
      ["claude", "", 10],
      ["gpt-4o", "", 5],
      ["mini", "", 1],
    ]);
    expect((await rows(Dimension.USER))[0]).toEqual(["alice", "", 10]);
  });

  it("breaks spend down by organization for platform admins only", async () => {
    const res = await analytics().getOrganizationBreakdown(
      { range: current, orderBy: BreakdownOrder.ESTIMATED_COST },
      admin(),
    );
    const mine = res.rows.filter((r) => r.key === orgA || r.key === orgB);
    expect(mine.map((r) => [r.key, r.estimatedCostUsd])).toEqual([
      [orgA, 16],
      [orgB, 3],
    ]);
    expect(mine[0]?.label).toBe(slugA);
    const denied = await analytics()
      .getOrganizationBreakdown({ range: current }, t.as(orgAdmin))
      .catch((e: unknown) => e);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
  });

  it("finds the fastest-growing models against the previous equal period", async () => {
    const res = await analytics().getTopGrowth({ orgId: orgA, range: current }, admin());
    expect(res.previousRange?.startTime).toEqual(ts(BASE - HOUR));
    expect(
      res.rows.map((r) => [r.key, r.current, r.previous, r.change, r.changePercent, r.newInPeriod]),
    ).toEqual([
      ["gpt-4o", 5, 1.25, 3.75, 300, false],
      ["mini", 1, 0, 1, 0, true],
    ]); // claude fell from 12.5 to 10: not growing
    const tokens = await analytics().getTopGrowth(
      { orgId: orgA, range: current, metric: Metric.TOKENS, dimension: Dimension.PROVIDER, limit: 1 },
      admin(),
    );
    expect(tokens.rows.map((r) => [r.key, r.current, r.previous])).toEqual([["openai", 26 * 120, 10 * 120]]);
  });

  it("reports budgets against month-to-date estimated spend, organization first", async () => {
    const res = await analytics().getBudgetStatus({ orgId: orgA, month: "2026-10" }, t.as(orgAdmin));
    expect(res.month).toBe("2026-10");
    expect(
      res.rows.map((r) => [r.apiKeyId, r.label, r.monthlyBudgetUsd, r.spentUsd, r.percentUsed, r.exceeded]),
    ).toEqual([
      ["", "", 20, 29.75, 148.75, true],
      [k1, "batch-jobs", 4, 3.75, 93.75, false],
    ]); // chat-app's own policy has no budget
    expect(res.rows.map((r) => r.budgetAction)).toEqual([BudgetAction.BLOCK, BudgetAction.ALERT]);
    const future = await analytics().getBudgetStatus({ orgId: orgA, month: "2099-01" }, admin());
    expect(future.rows[0]).toMatchObject({ spentUsd: 0, monthlyBudgetUsd: 20 });
    const bad = await analytics()
      .getBudgetStatus({ orgId: orgA, month: "2026-13" }, admin())
      .catch((e: unknown) => e);
    expect((bad as ConnectError).code).toBe(Code.InvalidArgument);
  });
});
