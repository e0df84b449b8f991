import { randomBytes } from "node:crypto";
import {
  create,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  toJsonString,
} from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { ConnectError } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { compileRestRoutes } from "../../control-plane/src/rest/rest-routes.js";
import { REST_SERVICES } from "../../control-plane/src/rest/services.js";
import { MANAGEMENT_SERVICES } from "../../control-plane/src/routes.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const CANARY = `sk-canary-${randomBytes(16).toString("hex")}`;

/** A provider secret must never come back out: not from an RPC, a REST path, an export, an error or a log line. */
describe("secret canary", () => {
  let t: TestControlPlane;
  const logLines: string[] = [];
  let orgId = "";
  let credentialId = "";
  const seen: string[] = [];

  beforeAll(async () => {
    t = await startTestControlPlane({ logLines });
    const admin = t.as(t.adminKey);
    orgId =
      (
        await t
          .client(OrganizationService)
          .createOrganization({ slug: `canary-${randomBytes(3).toString("hex")}`, reason: "t" }, admin)
      ).organization?.id ?? "";
    const creds = t.client(CredentialService);
    const created = await creds.createCredential(
      { orgId, provider: "openai", name: "openai-canary", secret: CANARY, reason: "canary" },
      admin,
    );
    credentialId = created.credential?.id ?? "";
    seen.push(toJsonString(CredentialService.method.createCredential.output, created));
    // Error paths that carry the secret in the request.
    for (const attempt of [
      () =>
        creds.createCredential(
          { orgId, provider: "openai", name: "openai-canary", secret: CANARY, reason: "dup" },
          admin,
        ),
      () =>
        creds.createCredential({ orgId, provider: "nope", name: "x", secret: CANARY, reason: "bad" }, admin),
      () => creds.rotateCredentialSecret({ orgId, id: credentialId, secret: CANARY, reason: "" }, admin),
    ]) {
      const err = await attempt().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(ConnectError);
      seen.push(String((err as ConnectError).message), JSON.stringify((err as ConnectError).metadata));
    }
    await creds.rotateCredentialSecret(
      { orgId, id: credentialId, secret: `${CANARY}-2`, reason: "rotate" },
      admin,
    );
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("is absent from every read RPC of every management service", async () => {
    const transport = createConnectTransport({ baseUrl: t.cp.url, httpVersion: "2" });
    const now = Date.now();
    let reads = 0;
    for (const service of MANAGEMENT_SERVICES) {
      for (const method of service.methods) {
        if (method.idempotency !== 1 /* NO_SIDE_EFFECTS */) continue;
        const fields = new Set(method.input.fields.map((f) => f.localName));
        const input = create(method.input, {
          ...(fields.has("orgId") ? { orgId } : {}),
          ...(fields.has("id")
            ? { id: service.typeName === OrganizationService.typeName ? orgId : credentialId }
            : {}),
          ...(fields.has("range")
            ? {
                range: {
                  startTime: timestampFromDate(new Date(now - 3600_000)),
                  endTime: timestampFromDate(new Date(now + 60_000)),
                },
              }
            : {}),
          ...(fields.has("dimension") ? { dimension: 3 } : {}),
          ...(fields.has("metric") ? { metric: 1 } : {}),
        });
        const headers = t.as(t.adminKey).headers;
        if (method.methodKind === "unary") {
          const res = await transport.unary(
            method as DescMethodUnary,
            undefined,
            undefined,
            headers,
            input,
            undefined,
          );
          seen.push(toJsonString(method.output, res.message));
        } else {
          const res = await transport.stream(
            method as DescMethodServerStreaming,
            undefined,
            undefined,
            headers,
            (async function* () {
              yield input;
            })(),
            undefined,
          );
          for await (const m of res.message) seen.push(toJsonString(method.output, m));
        }
        reads++;
      }
    }
    expect(reads).toBeGreaterThanOrEqual(10);
    expect(seen.join("\n")).toContain(credentialId);
    expect(seen.join("\n")).not.toContain(CANARY);
  });

  it("is absent from every REST GET path", async () => {
    const gets = compileRestRoutes(REST_SERVICES, "/rest/v1/llm-gateway").filter(
      (r) => r.httpMethod === "GET",
    );
    const now = Date.now();
    for (const route of gets) {
      const path = route.template.source
        .replace("{id}", route.rpcPath.includes("Organization") ? orgId : credentialId)
        .replace("{org_id}", orgId);
      const q = new URLSearchParams({
        org_id: orgId,
        "range.start_time": new Date(now - 3600_000).toISOString(),
        "range.end_time": new Date(now + 60_000).toISOString(),
      });
      if (route.rpcPath.endsWith("GetBreakdown")) q.set("dimension", "DIMENSION_CREDENTIAL");
      if (route.rpcPath.endsWith("QueryTimeSeries")) q.set("metric", "METRIC_REQUESTS");
      for (const key of [...q.keys()])
        if (!route.method.input.fields.some((f) => key.startsWith(f.name))) q.delete(key);
      const res = await fetch(`${t.cp.url}${path}?${q}`, t.as(t.adminKey));
      const body = await res.text();
      expect(res.status, `${path}: ${body}`).toBe(200);
      expect(body).not.toContain(CANARY);
    }
  });

  it("is absent from every log line, at debug level", () => {
    expect(logLines.length).toBeGreaterThan(0);
    expect(logLines.join("")).not.toContain(CANARY);
  });

  it("is absent from the stored audit rows and the credential row outside the envelope", async () => {
    const audit = await t.cp.db.query("SELECT * FROM audit_log WHERE org_id = $1", [orgId]);
    expect(JSON.stringify(audit.rows)).not.toContain(CANARY);
    const row = await t.cp.db.query("SELECT * FROM credentials WHERE id = $1", [credentialId]);
    expect(row.rows[0].secret_envelope.includes(Buffer.from(CANARY))).toBe(false);
    expect(JSON.stringify({ ...row.rows[0], secret_envelope: undefined })).not.toContain(CANARY);
  });
});
