import { createHash, randomBytes } from "node:crypto";
import { type Client, Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { hashOf } from "../../control-plane/src/audit/verify.js";
import type { ControlPlane } from "../../control-plane/src/main.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { ErrorClass, Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { PolicyService } from "../../proto/gen/llmgateway/v1/policy_service_pb.js";
import { PricingService } from "../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { BudgetAction, PiiMode } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const codeOf = (err: unknown) => (err instanceof ConnectError ? Code[err.code] : String(err));

/** Management API rules: validation, tenant isolation, role limits, audit chain. */
describe("management API", () => {
  let t: TestControlPlane;
  let cp: ControlPlane;
  let adminKey = "";
  const as = (key: string) => ({ headers: { authorization: `Bearer ${key}` } });
  let orgs: Client<typeof OrganizationService>;
  let keys: Client<typeof ApiKeyService>;
  let creds: Client<typeof CredentialService>;

  beforeAll(async () => {
    t = await startTestControlPlane();
    cp = t.cp;
    adminKey = t.adminKey;
    orgs = t.client(OrganizationService);
    keys = t.client(ApiKeyService);
    creds = t.client(CredentialService);
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  async function newOrg(): Promise<string> {
    const res = await orgs.createOrganization(
      { slug: `t-${randomBytes(4).toString("hex")}`, reason: "test" },
      as(adminKey),
    );
    return res.organization?.id ?? "";
  }

  it("rejects bad input with InvalidArgument and duplicates with AlreadyExists", async () => {
    const bad = [
      () => orgs.createOrganization({ slug: "Not A Slug", reason: "test" }, as(adminKey)),
      () => orgs.createOrganization({ slug: "fine-slug", reason: "  " }, as(adminKey)),
      () =>
        creds.createCredential(
          { orgId: "not-a-uuid", provider: "openai", name: "x", secret: "s", reason: "t" },
          as(adminKey),
        ),
    ];
    for (const call of bad) expect(codeOf(await call().catch((e) => e))).toBe("InvalidArgument");
    const orgId = await newOrg();
    const unknownProvider = await creds
      .createCredential(
        { orgId, provider: "no-such-provider", name: "x", secret: "s", reason: "t" },
        as(adminKey),
      )
      .catch((e) => e);
    expect(codeOf(unknownProvider)).toBe("InvalidArgument");
    const slug = `dup-${randomBytes(3).toString("hex")}`;
    await orgs.createOrganization({ slug, reason: "test" }, as(adminKey));
    expect(
      codeOf(await orgs.createOrganization({ slug, reason: "test" }, as(adminKey)).catch((e) => e)),
    ).toBe("AlreadyExists");
    expect(codeOf(await orgs.listOrganizations({}).catch((e) => e))).toBe("Unauthenticated");
  });

  it("keeps tenants apart and roles within their limits", async () => {
    const a = await newOrg();
    const b = await newOrg();
    const aAdmin = (
      await keys.createApiKey({ orgId: a, name: "a admin", role: Role.ADMIN, reason: "t" }, as(adminKey))
    ).key;
    await creds.createCredential(
      { orgId: b, provider: "openai", name: "b-openai-prod", secret: "sk-b-secret-value", reason: "t" },
      as(adminKey),
    );
    expect(codeOf(await creds.listCredentials({ orgId: b }, as(aAdmin)).catch((e) => e))).toBe(
      "PermissionDenied",
    );
    expect(
      codeOf(await orgs.createOrganization({ slug: "x-org", reason: "t" }, as(aAdmin)).catch((e) => e)),
    ).toBe("PermissionDenied");
    const owner = await keys
      .createApiKey({ orgId: a, name: "owner?", role: Role.OWNER, reason: "t" }, as(aAdmin))
      .catch((e) => e);
    expect(codeOf(owner)).toBe("PermissionDenied");
    const operator = await keys.createApiKey(
      { orgId: a, name: "ops", role: Role.OPERATOR, reason: "t" },
      as(aAdmin),
    );
    expect(operator.apiKey?.role).toBe(Role.OPERATOR);
    expect(
      codeOf(
        await keys
          .createApiKey({ orgId: a, name: "n", role: Role.MEMBER, reason: "t" }, as(operator.key))
          .catch((e) => e),
      ),
    ).toBe("PermissionDenied");
  });

  it("updates credential fields named in the mask and rotates its secret, audited", async () => {
    const orgId = await newOrg();
    const created = await creds.createCredential(
      {
        orgId,
        provider: "openai",
        name: "openai-prod",
        secret: "sk-first-secret-aaaa",
        weight: 2,
        reason: "t",
      },
      as(adminKey),
    );
    const id = created.credential?.id ?? "";
    const updated = await creds.updateCredential(
      {
        orgId,
        id,
        updateMask: { paths: ["name", "weight"] },
        name: "openai-prod-eu",
        weight: 5,
        models: ["ignored"],
        reason: "rename",
      },
      as(adminKey),
    );
    expect(updated.credential).toMatchObject({ name: "openai-prod-eu", weight: 5, models: [] });
    const badMask = await creds
      .updateCredential({ orgId, id, updateMask: { paths: ["provider"] }, reason: "t" }, as(adminKey))
      .catch((e) => e);
    expect(codeOf(badMask)).toBe("InvalidArgument");
    const rotated = await creds.rotateCredentialSecret(
      { orgId, id, secret: "sk-second-secret-bbbb", reason: "scheduled" },
      as(adminKey),
    );
    expect(rotated.credential?.secretLast4).toBe("bbbb");
    expect(rotated.credential?.secretFingerprint).not.toBe(created.credential?.secretFingerprint);
    const { rows } = await cp.db.query("SELECT action FROM audit_log WHERE org_id = $1 ORDER BY seq", [
      orgId,
    ]);
    expect(rows.map((r) => r.action)).toEqual([
      "organization.create",
      "credential.create",
      "credential.update",
      "credential.rotate_secret",
    ]);
  });

  it("rotates an API key: at once, or with a grace period for the old one", async () => {
    const orgId = await newOrg();
    const first = await keys.createApiKey({ orgId, name: "ci", role: Role.ADMIN, reason: "t" }, as(adminKey));
    const now = await keys.rotateApiKey(
      { orgId, id: first.apiKey?.id ?? "", reason: "leaked" },
      as(adminKey),
    );
    expect(now.key).not.toBe(first.key);
    expect(now.previous?.revokedAt).toBeDefined();
    expect(codeOf(await keys.listApiKeys({ orgId }, as(first.key)).catch((e) => e))).toBe("Unauthenticated");
    await keys.listApiKeys({ orgId }, as(now.key));

    const graced = await keys.rotateApiKey(
      { orgId, id: now.apiKey?.id ?? "", graceSeconds: 3600, reason: "scheduled" },
      as(now.key),
    );
    expect(graced.previous?.revokedAt).toBeUndefined();
    expect(Number(graced.previous?.expiresAt?.seconds) * 1000).toBeGreaterThan(Date.now() + 3500_000);
    await keys.listApiKeys({ orgId }, as(now.key)); // still valid during the grace period
    await keys.listApiKeys({ orgId }, as(graced.key));
    const again = await keys
      .rotateApiKey({ orgId, id: first.apiKey?.id ?? "", reason: "t" }, as(adminKey))
      .catch((e) => e);
    expect(codeOf(again)).toBe("FailedPrecondition");
  });

  it("lists providers with their settings schema, and validates credential settings against it", async () => {
    const res = await fetch(`${cp.url}/rest/v1/llm-gateway/providers`, as(adminKey));
    const { providers } = (await res.json()) as {
      providers: Array<{
        id: string;
        authKind: string;
        settings: Array<{ name: string; required?: boolean }>;
      }>;
    };
    const byId = new Map(providers.map((p) => [p.id, p]));
    expect(byId.get("groq")).toMatchObject({ authKind: "bearer", settings: [{ name: "base_url" }] });
    expect(byId.get("openai-compatible")?.settings).toEqual([
      expect.objectContaining({ name: "base_url", required: true }),
    ]);
    const orgId = await newOrg();
    const wrongSetting = await creds
      .createCredential(
        {
          orgId,
          provider: "groq",
          name: "groq-x",
          secret: "gsk-xxxxxxxxxx",
          settings: { region: "eu-west-1" },
          reason: "t",
        },
        as(adminKey),
      )
      .catch((e) => e);
    expect(codeOf(wrongSetting)).toBe("InvalidArgument");
    expect(String(wrongSetting.message)).toContain("settings.region does not apply");
    const missingBase = await creds
      .createCredential(
        { orgId, provider: "openai-compatible", name: "vllm", secret: "", reason: "t" },
        as(adminKey),
      )
      .catch((e) => e);
    expect(String(missingBase.message)).toContain("base_url");
  });

  it("stores an ordered fallback chain with triggers and sends it to workers", async () => {
    const orgId = await newOrg();
    const cred = async (name: string) =>
      (
        await creds.createCredential(
          { orgId, provider: "openai", name, secret: `sk-${name}-xxxxxxxx`, reason: "t" },
          as(adminKey),
        )
      ).credential?.id ?? "";
    const [primary, backup, big] = [await cred("primary"), await cred("backup"), await cred("big-context")];
    const routes = t.client(RouteService);
    const put = await routes.putRoute(
      {
        orgId,
        model: "chat",
        targets: [{ credentialId: primary, upstreamModel: "gpt-4o-mini", weight: 1 }],
        fallbacks: [
          {
            targets: [{ credentialId: backup, upstreamModel: "gpt-4o-mini", weight: 1 }],
            triggers: [
              ErrorClass.RATE_LIMITED,
              ErrorClass.UNAVAILABLE,
              ErrorClass.TIMEOUT,
              ErrorClass.DISABLED,
            ],
          },
          {
            targets: [{ credentialId: big, upstreamModel: "gpt-4.1", weight: 1 }],
            triggers: [ErrorClass.CONTEXT_LENGTH_EXCEEDED],
          },
        ],
        reason: "t",
      },
      as(adminKey),
    );
    expect(put.route?.fallbacks.map((f) => f.triggers)).toEqual([
      [ErrorClass.RATE_LIMITED, ErrorClass.UNAVAILABLE, ErrorClass.TIMEOUT, ErrorClass.DISABLED],
      [ErrorClass.CONTEXT_LENGTH_EXCEEDED],
    ]);
    const listed = await routes.listRoutes({ orgId }, as(adminKey));
    expect(listed.routes[0]?.fallbacks[1]?.targets[0]?.credentialId).toBe(big);
    const snapshot = await cp.deps.tables.snapshot(cp.db);
    expect(snapshot.routes.find((r) => r.orgId === orgId)?.fallbacks).toHaveLength(2);

    const noTrigger = await routes
      .putRoute(
        {
          orgId,
          model: "chat",
          targets: [{ credentialId: primary }],
          fallbacks: [{ targets: [{ credentialId: backup }] }],
          reason: "t",
        },
        as(adminKey),
      )
      .catch((e) => e);
    expect(codeOf(noTrigger)).toBe("InvalidArgument");
    expect(String(noTrigger.message)).toContain("fallbacks[0].triggers");
    const deleteBackup = await creds
      .deleteCredential({ orgId, id: backup, reason: "t" }, as(adminKey))
      .catch((e) => e);
    expect(codeOf(deleteBackup)).toBe("FailedPrecondition");
  });

  it("manages metrics tokens (platform admins only) and pushes their hashes to workers", async () => {
    const tokens = t.client(MetricsTokenService);
    const created = await tokens.createMetricsToken(
      { name: "prometheus-prod", reason: "scrape" },
      as(adminKey),
    );
    expect(created.token).toMatch(/^lgm_[\w-]{43}$/);
    const hashOf = (token: string) => createHash("sha256").update(token).digest("hex");
    const tableHashes = async () =>
      (await cp.deps.tables.snapshot(cp.db)).metricsTokens.map((m) =>
        Buffer.from(m.tokenHash).toString("hex"),
      );
    expect(await tableHashes()).toContain(hashOf(created.token));

    const rotated = await tokens.rotateMetricsToken(
      { id: created.metricsToken?.id ?? "", graceSeconds: 600, reason: "rotation" },
      as(adminKey),
    );
    expect(await tableHashes()).toEqual(
      expect.arrayContaining([hashOf(created.token), hashOf(rotated.token)]),
    );
    expect(rotated.previous?.expiresAt).toBeDefined();
    await tokens.revokeMetricsToken({ id: created.metricsToken?.id ?? "", reason: "done" }, as(adminKey));
    expect(await tableHashes()).not.toContain(hashOf(created.token));
    const listed = await tokens.listMetricsTokens({}, as(adminKey));
    expect(JSON.stringify(listed.metricsTokens.map((m) => m.prefix))).not.toContain(rotated.token);

    const orgOwner = (
      await keys.createApiKey(
        { orgId: await newOrg(), name: "o", role: Role.OWNER, reason: "t" },
        as(adminKey),
      )
    ).key;
    expect(
      codeOf(await tokens.createMetricsToken({ name: "x", reason: "t" }, as(orgOwner)).catch((e) => e)),
    ).toBe("PermissionDenied");
  });

  it("stores organization and per-key policies, validates them, and sends them to workers", async () => {
    const orgId = await newOrg();
    const key = await keys.createApiKey(
      { orgId, name: "batch-jobs", role: Role.MEMBER, reason: "t" },
      as(adminKey),
    );
    const policies = t.client(PolicyService);
    await policies.putPolicy(
      {
        orgId,
        policy: {
          requestsPerMinute: 600,
          monthlyBudgetUsd: 500,
          budgetAction: BudgetAction.BLOCK,
          piiMode: PiiMode.REDACT,
        },
        reason: "org default",
      },
      as(adminKey),
    );
    await policies.putPolicy(
      {
        orgId,
        apiKeyId: key.apiKey?.id ?? "",
        policy: { requestsPerMinute: 60, approvedModels: ["gpt-4o-mini", "gpt-4o-mini"] },
        reason: "batch",
      },
      as(adminKey),
    );
    const listed = await policies.listPolicies({ orgId }, as(adminKey));
    expect(listed.records.map((r) => [r.apiKeyId, r.policy?.requestsPerMinute])).toEqual([
      ["", 600],
      [key.apiKey?.id, 60],
    ]);
    expect(listed.records[1]?.policy?.approvedModels).toEqual(["gpt-4o-mini"]);
    const table = await cp.deps.tables.snapshot(cp.db);
    expect(table.policies.filter((p) => p.orgId === orgId)).toHaveLength(2);

    const invalid = [
      { monthlyBudgetUsd: 10 },
      { cacheEnabled: true, cacheTtlSeconds: 0 },
      { approvedModels: [" "] },
    ];
    for (const policy of invalid) {
      const err = await policies.putPolicy({ orgId, policy, reason: "t" }, as(adminKey)).catch((e) => e);
      expect(codeOf(err), JSON.stringify(policy)).toBe("InvalidArgument");
      expect(String(err.message)).toContain("policy.");
    }
    await policies.deletePolicy({ orgId, apiKeyId: key.apiKey?.id ?? "", reason: "t" }, as(adminKey));
    const after = await policies.getPolicy({ orgId, apiKeyId: key.apiKey?.id ?? "" }, as(adminKey));
    expect(after.record?.policy?.requestsPerMinute ?? 0).toBe(0);
  });

  it("lists catalog prices with the organization's overrides taking precedence", async () => {
    const orgId = await newOrg();
    const pricing = t.client(PricingService);
    const before = await pricing.listPrices({ orgId }, as(adminKey));
    const mini = before.prices.find((p) => p.provider === "openai" && p.model === "gpt-4o-mini");
    expect(mini).toMatchObject({ source: "catalog", inputPerMillion: 0.15, outputPerMillion: 0.6 });
    await pricing.putPriceOverride(
      {
        orgId,
        price: {
          provider: "openai",
          model: "gpt-4o-mini",
          inputPerMillion: 0.12,
          outputPerMillion: 0.5,
          cachedInputPerMillion: 0.06,
          effectiveFrom: "2026-01-01",
        },
        reason: "negotiated rate",
      },
      as(adminKey),
    );
    const after = await pricing.listPrices({ orgId }, as(adminKey));
    const minis = after.prices.filter((p) => p.provider === "openai" && p.model === "gpt-4o-mini");
    expect(minis).toEqual([
      expect.objectContaining({ source: "override", inputPerMillion: 0.12, effectiveFrom: "2026-01-01" }),
    ]);
    const other = await pricing.listPrices({ orgId: await newOrg() }, as(adminKey));
    expect(other.prices.find((p) => p.model === "gpt-4o-mini")?.source).toBe("catalog");
    const negative = await pricing
      .putPriceOverride(
        { orgId, price: { provider: "openai", model: "x", inputPerMillion: -1 }, reason: "t" },
        as(adminKey),
      )
      .catch((e) => e);
    expect(codeOf(negative)).toBe("InvalidArgument");
    await pricing.deletePriceOverride(
      { orgId, provider: "openai", model: "gpt-4o-mini", reason: "t" },
      as(adminKey),
    );
    const reset = await pricing.listPrices({ orgId }, as(adminKey));
    expect(reset.prices.find((p) => p.model === "gpt-4o-mini")?.source).toBe("catalog");
  });

  it("lets only a platform admin revoke the platform-admin key", async () => {
    const defaultAdmin = (
      await keys.createApiKey(
        { orgId: cp.bootstrapOrgId, name: "default admin", role: Role.ADMIN, reason: "t" },
        as(adminKey),
      )
    ).key;
    const listed = await keys.listApiKeys({ orgId: cp.bootstrapOrgId }, as(defaultAdmin));
    const platformKey = listed.apiKeys.find((k) => k.name.startsWith("admin (LLM_GATEWAY_ADMIN_KEY)"));
    expect(platformKey).toBeDefined();
    const denied = await keys
      .revokeApiKey({ orgId: cp.bootstrapOrgId, id: platformKey?.id ?? "", reason: "t" }, as(defaultAdmin))
      .catch((e) => e);
    expect(codeOf(denied)).toBe("PermissionDenied");
  });

  it("writes an audit row per change whose hash chain recomputes from the stored rows", async () => {
    const orgId = await newOrg();
    const cred = await creds.createCredential(
      {
        orgId,
        provider: "openai",
        name: "openai-prod-chat",
        secret: "sk-live-do-not-log-1234",
        reason: "onboarding",
      },
      as(adminKey),
    );
    await creds.disableCredential(
      { orgId, id: cred.credential?.id ?? "", reason: "incident 42" },
      as(adminKey),
    );
    const { rows } = await cp.db.query("SELECT * FROM audit_log WHERE org_id = $1 ORDER BY seq", [orgId]);
    expect(rows.map((r) => r.action)).toEqual([
      "organization.create",
      "credential.create",
      "credential.disable",
    ]);
    expect(rows[2].reason).toBe("incident 42");
    expect(rows[2].before.enabled).toBe(true);
    expect(rows[2].after.enabled).toBe(false);
    expect(JSON.stringify(rows)).not.toContain("sk-live-do-not-log-1234");
    let prev: Buffer | null = null;
    for (const r of rows) {
      const hash = hashOf(r, prev);
      expect(hash.equals(r.hash)).toBe(true);
      prev = r.hash;
    }
    await expect(cp.db.query("UPDATE audit_log SET reason = 'x' WHERE org_id = $1", [orgId])).rejects.toThrow(
      /append-only/,
    );
  });
});
