import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { AuditService } from "../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { BillingService } from "../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const now = new Date();
const month = (offset: number) => new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth() + offset, 1));
const day = (offset: number, d: number) => {
  const m = month(offset);
  return new Date(Date.UTC(m.getUTCFullYear(), m.getUTCMonth(), d)).toISOString().slice(0, 10);
};
const period = (offset: number) => month(offset).toISOString().slice(0, 7);

describe("BillingService.ImportActualCosts (CSV)", () => {
  let t: TestControlPlane;
  let orgId = "";
  let openaiCred = "";
  let analyst = "";
  const admin = () => t.as(t.adminKey);
  const billing = () => t.client(BillingService);
  const importCsv = (csv: string) =>
    billing().importActualCosts({ orgId, csv, reason: "invoice import" }, admin());

  beforeAll(async () => {
    t = await startTestControlPlane();
    const org = await t
      .client(OrganizationService)
      .createOrganization({ slug: `csv-${randomBytes(3).toString("hex")}`, reason: "t" }, admin());
    orgId = org.organization?.id ?? "";
    const creds = t.client(CredentialService);
    const a = await creds.createCredential(
      { orgId, provider: "openai", name: "openai, prod", secret: "sk-test-1234567890", reason: "t" },
      admin(),
    );
    openaiCred = a.credential?.id ?? "";
    await creds.createCredential(
      { orgId, provider: "anthropic", name: "claude", secret: "sk-ant-test-1234567890", reason: "t" },
      admin(),
    );
    analyst = (
      await t
        .client(ApiKeyService)
        .createApiKey({ orgId, name: "an", role: Role.ANALYST, reason: "t" }, admin())
    ).key;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("imports provider- and credential-level days, and re-importing a line replaces it", async () => {
    const csv = [
      "date,provider,credential,amount_usd,currency",
      `${day(0, 1)},openai,"openai, prod",12.34,USD`,
      `${day(0, 1)},openai,,1.66`,
      `${day(-1, 15)},anthropic,claude,100.5,usd`,
      `${day(-2, 3)},anthropic,claude,999`,
      "",
    ].join("\n");
    expect(await importCsv(csv)).toMatchObject({ rows: 4 });
    const again = await importCsv(`${day(0, 1)},openai,"openai, prod",20\n`);
    expect(again).toMatchObject({ rows: 1, totalUsd: 20 });
    const list = await billing().listActualCosts(
      { orgId, startDate: day(-2, 1), endDate: day(1, 1) },
      t.as(analyst),
    );
    expect(list.costs.map((c) => [c.day, c.provider, c.credentialId, c.amountUsd, c.source])).toEqual([
      [day(-2, 3), "anthropic", expect.any(String), 999, "csv"],
      [day(-1, 15), "anthropic", expect.any(String), 100.5, "csv"],
      [day(0, 1), "openai", "", 1.66, "csv"],
      [day(0, 1), "openai", openaiCred, 20, "csv"],
    ]);
    const audit = await t
      .client(AuditService)
      .listAuditEvents({ orgId, filter: { action: "actual_costs.import" }, pageSize: 10 }, admin());
    expect(audit.events).toHaveLength(2);
  });

  it("publishes month-to-date and last-month totals per provider and credential in the routing table", async () => {
    const table = await t.cp.deps.tables.snapshot(t.cp.db);
    const mine = table.actualCosts
      .filter((c) => c.orgId === orgId)
      .map((c) => [
        c.provider,
        c.credentialId === openaiCred ? "openai-cred" : c.credentialId ? "claude" : "",
        c.period,
        c.amountUsd,
      ])
      .sort((a, b) => String(a).localeCompare(String(b)));
    // the day two months back is in neither period
    expect(mine).toEqual([
      ["anthropic", "claude", period(-1), 100.5],
      ["openai", "", period(0), 1.66],
      ["openai", "openai-cred", period(0), 20],
    ]);
  });

  it("refuses bad CSV with InvalidArgument naming the line", async () => {
    const cases: Array<[string, string]> = [
      ["date,provider,credential,amount_usd\n2026-02-30,openai,,1", "csv line 2: date"],
      ["2026-01-01,openai,,1\n2026-01-02,nope,,1", 'csv line 2: provider "nope"'],
      ["2026-01-01,openai,,1\n\n2026-01-02,openai,ghost,1", 'csv line 3: credential "ghost" not found'],
      [
        "2026-01-01,openai,claude,1",
        'csv line 1: credential "claude" belongs to provider anthropic, not openai',
      ],
      ["2026-01-01,openai,,12,EUR", 'csv line 1: currency "EUR"'],
      ["2026-01-01,openai,,$12", "csv line 1: amount_usd"],
      [
        "2026-01-01,openai,,1\n2026-01-01,openai,,2",
        "csv line 2: same date, provider and credential as line 1",
      ],
      ["2026-01-01,openai,1", "csv line 1: expected 4 or 5 columns"],
      ['2026-01-01,openai,"unterminated,1', "csv line 1: unterminated quoted field"],
      ["date,provider,amount_usd\n", "csv line 1: header"],
    ];
    for (const [csv, message] of cases) {
      const err = await importCsv(csv).catch((e: unknown) => e);
      expect(err, csv).toBeInstanceOf(ConnectError);
      expect((err as ConnectError).code, csv).toBe(Code.InvalidArgument);
      expect((err as ConnectError).rawMessage, csv).toContain(message);
    }
    const denied = await billing()
      .importActualCosts({ orgId, csv: "2026-01-01,openai,,1", reason: "x" }, t.as(analyst))
      .catch((e: unknown) => e);
    expect((denied as ConnectError).code).toBe(Code.PermissionDenied);
  });
});
