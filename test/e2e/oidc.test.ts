import { randomBytes } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createLogger } from "../../lib/src/logger.js";
import { type MockProvider, startMockProvider } from "../../mock-provider/src/server.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { MembershipService } from "../../proto/gen/llmgateway/v1/membership_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { loadWorkerConfig } from "../../worker/src/config.js";
import { startWorker, type Worker } from "../../worker/src/main.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";
import { startTestIdentityProvider, type TestIdentityProvider } from "../helpers/oidc-provider.js";

const AUDIENCE = "llm-gateway";
const codeOf = (err: unknown) => (err instanceof ConnectError ? Code[err.code] : String(err));

/** OIDC/JWT sessions on the management API: verification, claim and stored memberships, audit actor. */
describe("OIDC session tokens", () => {
  let idp: TestIdentityProvider;
  let t: TestControlPlane;
  let slug = "";
  let orgId = "";

  beforeAll(async () => {
    idp = await startTestIdentityProvider(AUDIENCE);
    // No JWKS URL: the control plane discovers it from the issuer.
    t = await startTestControlPlane({
      env: { LLM_GATEWAY_OIDC_ISSUER: idp.issuer, LLM_GATEWAY_OIDC_AUDIENCE: AUDIENCE },
    });
    slug = `sso-${randomBytes(3).toString("hex")}`;
    orgId =
      (await t.client(OrganizationService).createOrganization({ slug, reason: "t" }, t.as(t.adminKey)))
        .organization?.id ?? "";
  }, 60_000);

  afterAll(async () => {
    await t?.close();
    await idp?.close();
  });

  it("grants the roles named in the roles claim, and nothing more", async () => {
    const token = await idp.token("alice", {
      email: "alice@example.com",
      llm_gateway_roles: [`${slug}:operator`],
    });
    const creds = t.client(CredentialService);
    const created = await creds.createCredential(
      { orgId, provider: "openai", name: "openai-sso", secret: "sk-sso-xxxxxxxx", reason: "via SSO" },
      t.as(token),
    );
    expect(created.credential?.name).toBe("openai-sso");
    const orgs = await t.client(OrganizationService).listOrganizations({}, t.as(token));
    expect(orgs.organizations.map((o) => o.slug)).toEqual([slug]);
    const denied = await t
      .client(OrganizationService)
      .createOrganization({ slug: "nope", reason: "t" }, t.as(token))
      .catch((e) => e);
    expect(codeOf(denied)).toBe("PermissionDenied");
    const { rows } = await t.cp.db.query(
      "SELECT a.actor, u.subject, u.email FROM audit_log a JOIN users u ON a.actor = 'user:' || u.id WHERE a.action = 'credential.create' AND a.org_id = $1",
      [orgId],
    );
    expect(rows).toEqual([
      { actor: expect.stringMatching(/^user:/), subject: "alice", email: "alice@example.com" },
    ]);
  });

  it("uses stored memberships for users without role claims", async () => {
    const stranger = await idp.token("bob");
    expect(
      codeOf(
        await t
          .client(CredentialService)
          .listCredentials({ orgId }, t.as(stranger))
          .catch((e) => e),
      ),
    ).toBe("PermissionDenied");
    const members = t.client(MembershipService);
    await members.putMember(
      { orgId, subject: "bob", email: "bob@example.com", role: Role.ANALYST, reason: "onboarding" },
      t.as(t.adminKey),
    );
    const listed = await t.client(CredentialService).listCredentials({ orgId }, t.as(stranger));
    expect(listed.credentials).toHaveLength(1);
    const all = await members.listMembers({ orgId }, t.as(t.adminKey));
    expect(all.members.map((m) => [m.subject, m.role])).toEqual([["bob", Role.ANALYST]]);
    await members.removeMember(
      { orgId, userId: all.members[0]?.userId ?? "", reason: "offboarding" },
      t.as(t.adminKey),
    );
    expect(
      codeOf(
        await t
          .client(CredentialService)
          .listCredentials({ orgId }, t.as(stranger))
          .catch((e) => e),
      ),
    ).toBe("PermissionDenied");
  });

  it("records the signed-in user as the owner of keys they create", async () => {
    const token = await idp.token("grace", { llm_gateway_roles: [`${slug}:admin`] });
    const created = await t
      .client(ApiKeyService)
      .createApiKey({ orgId, name: "grace's notebook", role: Role.MEMBER, reason: "t" }, t.as(token));
    const { rows } = await t.cp.db.query<{ id: string }>("SELECT id FROM users WHERE subject = 'grace'");
    expect(created.apiKey?.ownerUserId).toBe(rows[0]?.id);
    const listed = await t.client(ApiKeyService).listApiKeys({ orgId }, t.as(token));
    expect(listed.apiKeys.find((k) => k.id === created.apiKey?.id)?.ownerUserId).toBe(rows[0]?.id);
  });

  it("makes a platform admin from the platform-admin claim value", async () => {
    const token = await idp.token("root", { llm_gateway_roles: ["platform-admin"] });
    const org = await t
      .client(OrganizationService)
      .createOrganization({ slug: `sso2-${randomBytes(3).toString("hex")}`, reason: "t" }, t.as(token));
    expect(org.organization?.id).toBeTruthy();
  });

  it.each([
    [
      "a wrong audience",
      () => idp.token("alice", { llm_gateway_roles: [`${slug}:owner`] }, { audience: "someone-else" }),
    ],
    [
      "an expired token",
      () => idp.token("alice", { llm_gateway_roles: [`${slug}:owner`] }, { expiresIn: "-1m" }),
    ],
    [
      "a foreign signing key",
      () => idp.token("alice", { llm_gateway_roles: [`${slug}:owner`] }, { foreignKey: true }),
    ],
    [
      "an unsigned token (alg none)",
      async () => {
        const enc = (o: object) => Buffer.from(JSON.stringify(o)).toString("base64url");
        const now = Math.floor(Date.now() / 1000);
        return `${enc({ alg: "none", typ: "JWT" })}.${enc({ sub: "alice", iss: idp.issuer, aud: AUDIENCE, exp: now + 600, llm_gateway_roles: [`${slug}:owner`] })}.x`;
      },
    ],
  ])("refuses %s as Unauthenticated", async (_name, make) => {
    const err = await t
      .client(CredentialService)
      .listCredentials({ orgId }, t.as(await make()))
      .catch((e) => e);
    expect(codeOf(err)).toBe("Unauthenticated");
  });
});

describe("OIDC session token as the OpenAI api_key", () => {
  let idp: TestIdentityProvider;
  let t: TestControlPlane;
  let mock: MockProvider;
  let worker: Worker;
  const orgs: Record<string, string> = {};
  const slugs = {
    a: `inf-a-${randomBytes(3).toString("hex")}`,
    b: `inf-b-${randomBytes(3).toString("hex")}`,
  };
  const oidcEnv = () => ({ LLM_GATEWAY_OIDC_ISSUER: idp.issuer, LLM_GATEWAY_OIDC_AUDIENCE: AUDIENCE });

  beforeAll(async () => {
    idp = await startTestIdentityProvider(AUDIENCE);
    t = await startTestControlPlane({ env: oidcEnv() });
    mock = await startMockProvider({});
    const admin = t.as(t.adminKey);
    for (const [name, slug] of Object.entries(slugs)) {
      const orgId =
        (await t.client(OrganizationService).createOrganization({ slug, reason: "t" }, admin)).organization
          ?.id ?? "";
      orgs[name] = orgId;
      const cred = await t.client(CredentialService).createCredential(
        {
          orgId,
          provider: "openai-compatible",
          name: "mock",
          settings: { baseUrl: mock.url },
          reason: "t",
        },
        admin,
      );
      await t.client(RouteService).putRoute(
        {
          orgId,
          model: "chat",
          targets: [{ credentialId: cred.credential?.id ?? "", upstreamModel: `model-${name}` }],
          reason: "t",
        },
        admin,
      );
    }
    worker = await startWorker(
      loadWorkerConfig({
        ...oidcEnv(),
        LLM_GATEWAY_CONTROL_PLANE_URL: t.cp.url,
        LLM_GATEWAY_WORKER_TOKEN: t.workerToken,
        LLM_GATEWAY_WORKER_PORT: "0",
      }),
      createLogger("worker", "warn"),
    );
    await worker.sync.ready;
  }, 60_000);

  afterAll(async () => {
    await worker?.close();
    await mock?.close();
    await t?.close();
    await idp?.close();
  });

  const client = (apiKey: string, org?: string) =>
    new OpenAI({
      baseURL: `${worker.url}/v1`,
      apiKey,
      maxRetries: 0,
      ...(org ? { defaultHeaders: { "x-llm-gateway-organization": org } } : {}),
    });
  const chat = (c: OpenAI) =>
    c.chat.completions.create({ model: "chat", messages: [{ role: "user", content: "hi" }] });

  it("serves a user whose roles claim names one organization", async () => {
    const token = await idp.token("carol", { llm_gateway_roles: [`${slugs.a}:member`] });
    expect((await chat(client(token))).model).toBe("model-a");
  });

  it("asks a user of several organizations to name one, and serves the one named", async () => {
    const token = await idp.token("dave", { llm_gateway_roles: [`${slugs.a}:member`, `${slugs.b}:member`] });
    await expect(chat(client(token))).rejects.toMatchObject({ status: 400, code: "invalid_request" });
    expect((await chat(client(token, slugs.b))).model).toBe("model-b");
    const other = await idp.token("erin", { llm_gateway_roles: [`${slugs.a}:member`] });
    await expect(chat(client(other, slugs.b))).rejects.toMatchObject({
      status: 403,
      code: "permission_denied",
    });
  });

  it("follows stored memberships as they change, without a restart", async () => {
    const token = await idp.token("frank");
    await expect(chat(client(token))).rejects.toMatchObject({ status: 403 });
    const members = t.client(MembershipService);
    const added = await members.putMember(
      { orgId: orgs.a ?? "", subject: "frank", role: Role.MEMBER, reason: "t" },
      t.as(t.adminKey),
    );
    const served = async () =>
      chat(client(token)).then(
        () => true,
        () => false,
      );
    const start = performance.now();
    while (!(await served())) {
      if (performance.now() - start > 1000) throw new Error("membership did not reach the worker within 1 s");
      await new Promise((r) => setTimeout(r, 10));
    }
    await members.removeMember(
      { orgId: orgs.a ?? "", userId: added.member?.userId ?? "", reason: "t" },
      t.as(t.adminKey),
    );
    const removedAt = performance.now();
    while (await served()) {
      if (performance.now() - removedAt > 1000)
        throw new Error("removal did not reach the worker within 1 s");
      await new Promise((r) => setTimeout(r, 10));
    }
  });

  it("refuses tokens that do not verify", async () => {
    const forged = await idp.token(
      "carol",
      { llm_gateway_roles: [`${slugs.a}:member`] },
      { foreignKey: true },
    );
    await expect(chat(client(forged))).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });
});
