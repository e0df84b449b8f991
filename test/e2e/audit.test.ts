import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { AuditService } from "../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

describe("AuditService", () => {
  let t: TestControlPlane;
  let orgId = "";
  let analystKey = "";
  let operatorKey = "";

  beforeAll(async () => {
    t = await startTestControlPlane();
    const admin = t.as(t.adminKey);
    const org = await t
      .client(OrganizationService)
      .createOrganization({ slug: `audit-${randomBytes(3).toString("hex")}`, reason: "audit test" }, admin);
    orgId = org.organization?.id ?? "";
    const keys = t.client(ApiKeyService);
    analystKey = (await keys.createApiKey({ orgId, name: "analyst", role: Role.ANALYST, reason: "t" }, admin))
      .key;
    operatorKey = (
      await keys.createApiKey({ orgId, name: "operator", role: Role.OPERATOR, reason: "t" }, admin)
    ).key;
    const creds = t.client(CredentialService);
    for (let i = 0; i < 5; i++) {
      const c = await creds.createCredential(
        {
          orgId,
          provider: "openai",
          name: `openai-${i}`,
          secret: `sk-audit-canary-${i}-xxxxxxxx`,
          reason: `add ${i}`,
        },
        t.as(operatorKey),
      );
      await creds.disableCredential(
        { orgId, id: c.credential?.id ?? "", reason: `incident ${i}` },
        t.as(operatorKey),
      );
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("lists newest first with filters and pagination, for analysts but not operators", async () => {
    const audit = t.client(AuditService);
    const all = await audit.listAuditEvents({ orgId, pageSize: 1000 }, t.as(analystKey));
    expect(all.events.length).toBe(13); // org + 2 keys + 5 creates + 5 disables
    expect(all.events[0]?.action).toBe("credential.disable");
    expect(all.events.at(-1)?.action).toBe("organization.create");
    const disables = await audit.listAuditEvents(
      { orgId, filter: { action: "credential.disable" } },
      t.as(analystKey),
    );
    expect(disables.events.map((e) => e.reason)).toEqual([
      "incident 4",
      "incident 3",
      "incident 2",
      "incident 1",
      "incident 0",
    ]);
    expect(disables.events[0]?.before).toMatchObject({ enabled: true });
    expect(disables.events[0]?.after).toMatchObject({ enabled: false });
    const pages: string[] = [];
    let token = "";
    do {
      const page = await audit.listAuditEvents({ orgId, pageSize: 4, pageToken: token }, t.as(analystKey));
      pages.push(...page.events.map((e) => e.id));
      token = page.nextPageToken;
    } while (token);
    expect(pages).toEqual(all.events.map((e) => e.id));
    await expect(audit.listAuditEvents({ orgId }, t.as(operatorKey))).rejects.toSatisfy(
      (e) => e instanceof ConnectError && e.code === Code.PermissionDenied,
    );
  });

  it("exports every event oldest first as a stream, without secrets", async () => {
    const events = [];
    for await (const batch of t.client(AuditService).exportAuditEvents({ orgId }, t.as(analystKey))) {
      events.push(...batch.events);
    }
    expect(events.map((e) => Number(e.seq))).toEqual(Array.from({ length: 13 }, (_, i) => i + 1));
    expect(JSON.stringify(events, (_k, v) => (typeof v === "bigint" ? String(v) : v))).not.toContain(
      "sk-audit-canary",
    );
  });

  it("verifies the chain, and names the row edited directly in the database", async () => {
    const audit = t.client(AuditService);
    const ok = await audit.verifyAuditChain({ orgId }, t.as(analystKey));
    expect(ok).toMatchObject({ intact: true, rowsChecked: 13n });
    const viaRest = await fetch(
      `${t.cp.url}/rest/v1/llm-gateway/audit-logs:verify?org_id=${orgId}`,
      t.as(analystKey),
    );
    expect(await viaRest.json()).toEqual({ intact: true, rowsChecked: "13" });

    const target = (
      await t.cp.db.query<{ id: string }>("SELECT id FROM audit_log WHERE org_id = $1 AND seq = 7", [orgId])
    ).rows[0];
    await t.cp.db.query("ALTER TABLE audit_log DISABLE TRIGGER audit_log_no_update");
    try {
      await t.cp.db.query("UPDATE audit_log SET reason = 'nothing to see here' WHERE id = $1", [target?.id]);
    } finally {
      await t.cp.db.query("ALTER TABLE audit_log ENABLE TRIGGER audit_log_no_update");
    }
    const broken = await audit.verifyAuditChain({ orgId }, t.as(analystKey));
    expect(broken).toMatchObject({ intact: false, firstBrokenSeq: 7n, firstBrokenId: String(target?.id) });
    expect(broken.problem).toContain("modified");
  });
});
