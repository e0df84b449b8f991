import { randomBytes } from "node:crypto";
import http2 from "node:http2";
import { connectNodeAdapter } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createAuthInterceptor } from "../../control-plane/src/auth/interceptor.js";
import { REST_SERVICES } from "../../control-plane/src/rest/services.js";
import { createRestTranscoder } from "../../control-plane/src/rest/transcoder.js";
import { registerRoutes } from "../../control-plane/src/routes.js";
import { type Listening, listenH1AndH2c } from "../../control-plane/src/server.js";
import type { WorkerServiceDeps } from "../../control-plane/src/services/worker-service.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

// biome-ignore lint/suspicious/noExplicitAny: parsed response JSON, checked by the assertions
type Json = Record<string, any>;

/** The REST surface under /rest/v1/llm-gateway, transcoded from the google.api.http annotations. */
describe("REST transcoding", () => {
  let t: TestControlPlane;
  let server: Listening;
  let base = "";
  let adminKey = "";
  let orgId = "";

  beforeAll(async () => {
    t = await startTestControlPlane();
    adminKey = t.adminKey;
    // main.ts does not serve REST yet: the same Connect handler, fronted by the transcoder.
    const connect = connectNodeAdapter({
      routes: registerRoutes(t.cp.deps as WorkerServiceDeps),
      interceptors: [createAuthInterceptor(t.cp.db, t.workerToken)],
    });
    const rest = createRestTranscoder({
      services: REST_SERVICES,
      connectHandler: connect,
    });
    server = await listenH1AndH2c((req, res) => rest(req, res) || connect(req, res), "127.0.0.1", 0);
    base = `http://127.0.0.1:${server.port}`;
  }, 60_000);

  afterAll(async () => {
    await server?.close();
    await t?.close();
  });

  async function call(
    method: string,
    path: string,
    body?: unknown,
    init: { key?: string | null; headers?: Record<string, string> } = {},
  ): Promise<{ status: number; json: Json; headers: Headers }> {
    const key = init.key === undefined ? adminKey : init.key;
    const headers: Record<string, string> = { ...init.headers };
    if (key) headers.authorization = `Bearer ${key}`;
    if (body !== undefined) headers["content-type"] ??= "application/json";
    const res = await fetch(`${base}/rest/v1/llm-gateway${path}`, {
      method,
      headers,
      ...(body !== undefined ? { body: typeof body === "string" ? body : JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, json: text ? JSON.parse(text) : {}, headers: res.headers };
  }

  it("creates, reads and lists organizations", async () => {
    const slug = `rest-${randomBytes(4).toString("hex")}`;
    const created = await call("POST", "/organizations", { slug, display_name: "REST org", reason: "e2e" });
    expect(created.status).toBe(200);
    expect(created.headers.get("content-type")).toMatch(/^application\/json/);
    expect(created.json.organization).toMatchObject({ slug, displayName: "REST org" });
    orgId = created.json.organization.id;
    const got = await call("GET", `/organizations/${orgId}`);
    expect(got).toMatchObject({ status: 200, json: { organization: { id: orgId, slug } } });
    const list = await call("GET", "/organizations");
    expect(list.json.organizations.map((o: Json) => o.id)).toContain(orgId);
  });

  it("manages credentials under /credentials, with the organization in the body or the query", async () => {
    const created = await call("POST", "/credentials", {
      orgId,
      provider: "openai",
      name: "openai-rest-prod",
      secret: "sk-rest-secret-1234",
      models: ["gpt-4o-mini"],
      reason: "e2e: add key",
    });
    expect(created.status).toBe(200);
    const cred = created.json.credential;
    expect(cred).toMatchObject({ orgId, provider: "openai", enabled: true, secretLast4: "1234" });
    expect(JSON.stringify(created.json)).not.toContain("sk-rest-secret");
    const id: string = cred.id;

    for (const q of [`org_id=${orgId}`, `orgId=${orgId}`]) {
      const list = await call("GET", `/credentials?${q}`);
      expect(list.status).toBe(200);
      expect(list.json.credentials.map((c: Json) => c.id)).toEqual([id]);
    }
    const got = await call("GET", `/credentials/${id}?org_id=${orgId}`);
    expect(got.json.credential).toMatchObject({ id, name: "openai-rest-prod" });

    const patched = await call("PATCH", `/credentials/${id}`, {
      orgId,
      updateMask: "name,weight",
      name: "openai-rest-prod-eu",
      weight: 3,
      reason: "rename",
    });
    expect(patched.status).toBe(200);
    expect(patched.json.credential).toMatchObject({ name: "openai-rest-prod-eu", weight: 3 });

    const disabled = await call("POST", `/credentials/${id}:disable`, { org_id: orgId, reason: "incident" });
    expect(disabled.status).toBe(200);
    expect(disabled.json.credential.enabled ?? false).toBe(false);
    const enabled = await call("POST", `/credentials/${id}:enable`, { orgId, reason: "resolved" });
    expect(enabled.json.credential.enabled).toBe(true);

    const del = await call(
      "DELETE",
      `/credentials/${id}?org_id=${orgId}&reason=${encodeURIComponent("rotated")}`,
    );
    expect(del).toMatchObject({ status: 200, json: {} });
    const gone = await call("GET", `/credentials/${id}?orgId=${orgId}`);
    expect(gone).toMatchObject({ status: 404, json: { code: "not_found", message: "credential not found" } });

    const { rows } = await t.cp.db.query<{ action: string }>(
      "SELECT action FROM audit_log WHERE org_id = $1 ORDER BY seq",
      [orgId],
    );
    expect(rows.map((r) => r.action)).toEqual([
      "organization.create",
      "credential.create",
      "credential.update",
      "credential.disable",
      "credential.enable",
      "credential.delete",
    ]);
  });

  it("manages API keys and routes (path variables, enum names, %2F in a segment)", async () => {
    const key = await call("POST", `/organizations/${orgId}/api-keys`, {
      name: "rest operator",
      role: "ROLE_OPERATOR",
      reason: "e2e",
    });
    expect(key.status).toBe(200);
    expect(key.json.apiKey).toMatchObject({ orgId, role: "ROLE_OPERATOR" });
    const listed = await call("GET", `/organizations/${orgId}/api-keys`);
    expect(listed.json.apiKeys.map((k: Json) => k.id)).toContain(key.json.apiKey.id);

    // The new key authenticates REST calls too; operators cannot create organizations.
    const denied = await call("POST", "/organizations", { slug: "nope", reason: "x" }, { key: key.json.key });
    expect(denied).toMatchObject({ status: 403, json: { code: "permission_denied" } });

    const cred = await call("POST", "/credentials", {
      orgId,
      provider: "openai",
      name: "openai-for-route",
      secret: "sk-route-0000",
      reason: "e2e",
    });
    const model = "meta/llama-3";
    const put = await call("PUT", `/routes/${encodeURIComponent(model)}`, {
      orgId,
      targets: [{ credentialId: cred.json.credential.id, weight: 1 }],
      reason: "e2e",
    });
    expect(put.status).toBe(200);
    expect(put.json.route).toMatchObject({ orgId, model });
    const routes = await call("GET", `/routes?org_id=${orgId}`);
    expect(routes.json.routes.map((r: Json) => r.model)).toEqual([model]);
    const del = await call("DELETE", `/routes/${put.json.route.id}?orgId=${orgId}&reason=e2e`);
    expect(del.status).toBe(200);

    const revoked = await call("POST", `/organizations/${orgId}/api-keys/${key.json.apiKey.id}:revoke`, {
      reason: "e2e",
    });
    expect(revoked.status).toBe(200);
    expect(revoked.json.apiKey.revokedAt).toBeTruthy();
    const after = await call("GET", "/organizations", undefined, { key: key.json.key });
    expect(after).toMatchObject({ status: 401, json: { code: "unauthenticated" } });
  });

  it("answers errors as Connect-style JSON with the right status", async () => {
    const noAuth = await call("GET", `/credentials?org_id=${orgId}`, undefined, { key: null });
    expect(noAuth).toMatchObject({ status: 401, json: { code: "unauthenticated" } });

    const unknownField = await call("POST", "/credentials", { orgId, bogus_field: 1, reason: "x" });
    expect(unknownField).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
    expect(unknownField.json.message).toContain("bogus_field");
    const badType = await call("POST", "/credentials", { orgId, weight: "heavy", reason: "x" });
    expect(badType.status).toBe(400);
    expect(badType.json.message).toContain("weight");
    const badQuery = await call("GET", `/credentials?org_id=${orgId}&colour=red`);
    expect(badQuery).toMatchObject({ status: 400, json: { code: "invalid_argument" } });
    expect(badQuery.json.message).toContain("colour");
    // The handler's own validation comes back unchanged.
    const badUuid = await call("GET", "/credentials?org_id=not-a-uuid");
    expect(badUuid).toMatchObject({ status: 400, json: { message: "org_id must be a UUID" } });
    const conflict = await call("POST", `/organizations/${orgId}/api-keys`, {
      orgId: "00000000-0000-0000-0000-000000000000",
      name: "x",
      reason: "x",
    });
    expect(conflict.status).toBe(400);
    expect(conflict.json.message).toContain("org_id");
    const notJson = await call("POST", "/credentials", "orgId=1", {
      headers: { "content-type": "text/plain" },
    });
    expect(notJson.status).toBe(415);
    const brokenJson = await call("POST", "/credentials", "{", {});
    expect(brokenJson).toMatchObject({ status: 400, json: { code: "invalid_argument" } });

    const unknown = await call("GET", "/nothing-here");
    expect(unknown).toMatchObject({
      status: 404,
      json: { code: "not_found", message: "no REST route for GET /rest/v1/llm-gateway/nothing-here" },
    });
    const wrongMethod = await call("PATCH", "/credentials", {});
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.headers.get("allow")).toBe("POST, GET");
    const wrongVerbMethod = await call("GET", `/credentials/${orgId}:enable`);
    expect(wrongVerbMethod.status).toBe(405);
  });

  it("leaves other paths to Connect and works over HTTP/2", async () => {
    const native = await fetch(`${base}/llmgateway.v1.OrganizationService/ListOrganizations`, {
      method: "POST",
      headers: { "content-type": "application/json", authorization: `Bearer ${adminKey}` },
      body: "{}",
    });
    expect(native.status).toBe(200);
    expect(((await native.json()) as Json).organizations.length).toBeGreaterThan(0);

    const session = http2.connect(base);
    try {
      const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
        const stream = session.request({
          ":method": "GET",
          ":path": `/rest/v1/llm-gateway/organizations/${orgId}`,
          authorization: `Bearer ${adminKey}`,
        });
        let status = 0;
        const chunks: Buffer[] = [];
        stream.on("response", (h) => (status = Number(h[":status"])));
        stream.on("data", (d: Buffer) => chunks.push(d));
        stream.on("end", () => resolve({ status, body: Buffer.concat(chunks).toString() }));
        stream.on("error", reject);
      });
      expect(status).toBe(200);
      expect(JSON.parse(body).organization.id).toBe(orgId);
    } finally {
      session.close();
    }
  });
});
