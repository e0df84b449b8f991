import { randomBytes, randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import {
  create,
  type DescMethod,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  type DescService,
} from "@bufbuild/protobuf";
import { type CallOptions, Code, ConnectError, type Transport } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AUTHORIZATION_TABLE, type Permission } from "../../control-plane/src/auth/authorize.js";
import { MANAGEMENT_SERVICES } from "../../control-plane/src/routes.js";
import { projectRoot } from "../../lib/src/paths.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

/** RPC ("Service.Method") → permission, read from the table in docs/authorization.md. */
function documentedPermissions(): Map<string, Permission> {
  const doc = readFileSync(join(projectRoot(), "docs", "authorization.md"), "utf8");
  const map = new Map<string, Permission>();
  for (const line of doc.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const permission = /^`([a-z_.]+)`$/.exec(cells[1] ?? "")?.[1] as Permission | undefined;
    if (!permission || !(permission in AUTHORIZATION_TABLE)) continue;
    let service = "";
    for (const ref of (cells[2] ?? "").matchAll(/`(?:(\w+)\.)?(\w+)`/g)) {
      service = ref[1] ?? service;
      map.set(`${service}.${ref[2]}`, permission);
    }
  }
  return map;
}

const ROLES = [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST, Role.MEMBER] as const;

/** Calls any method (unary or server-streaming) with a request aimed at `orgId`; resolves the error code or "ok". */
async function call(
  transport: Transport,
  service: DescService,
  method: DescMethod,
  orgId: string,
  opts: CallOptions,
) {
  const fields = new Set(method.input.fields.map((f) => f.localName));
  const init: Record<string, unknown> = {};
  if (fields.has("orgId")) init.orgId = orgId;
  if (fields.has("id")) init.id = service.typeName === OrganizationService.typeName ? orgId : randomUUID();
  if (fields.has("reason")) init.reason = "authorization matrix";
  const input = create(method.input, init);
  try {
    let output: unknown;
    if (method.methodKind === "unary") {
      output = (
        await transport.unary(
          method as DescMethodUnary,
          opts.signal,
          opts.timeoutMs,
          opts.headers,
          input,
          opts.contextValues,
        )
      ).message;
    } else {
      const res = await transport.stream(
        method as DescMethodServerStreaming,
        opts.signal,
        opts.timeoutMs,
        opts.headers,
        (async function* () {
          yield input;
        })(),
        opts.contextValues,
      );
      const messages: unknown[] = [];
      for await (const m of res.message) messages.push(m);
      output = messages;
    }
    return { code: "ok" as const, output };
  } catch (err) {
    return { code: err instanceof ConnectError ? Code[err.code] : String(err), output: undefined };
  }
}

describe("authorization matrix, generated from the service descriptors", () => {
  let t: TestControlPlane;
  let transport: Transport;
  let orgA = "";
  const keysA = new Map<Role, string>();
  const keysB = new Map<Role, string>();
  const permissions = documentedPermissions();
  const methods = MANAGEMENT_SERVICES.flatMap((s) =>
    s.methods.map((m) => ({ service: s as DescService, method: m })),
  );

  beforeAll(async () => {
    t = await startTestControlPlane();
    transport = createConnectTransport({ baseUrl: t.cp.url, httpVersion: "2" });
    const admin = t.as(t.adminKey);
    const orgs = t.client(OrganizationService);
    const keys = t.client(ApiKeyService);
    const slug = () => `mx-${randomBytes(4).toString("hex")}`;
    orgA = (await orgs.createOrganization({ slug: slug(), reason: "matrix" }, admin)).organization?.id ?? "";
    const orgB =
      (await orgs.createOrganization({ slug: slug(), reason: "matrix" }, admin)).organization?.id ?? "";
    for (const role of ROLES) {
      keysA.set(
        role,
        (await keys.createApiKey({ orgId: orgA, name: `a-${role}`, role, reason: "m" }, admin)).key,
      );
      keysB.set(
        role,
        (await keys.createApiKey({ orgId: orgB, name: `b-${role}`, role, reason: "m" }, admin)).key,
      );
    }
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("documents a permission for every management RPC", () => {
    const missing = methods
      .map(({ service, method }) => `${service.name}.${method.name}`)
      .filter((n) => !permissions.has(n));
    expect(missing).toEqual([]);
  });

  it("gives every role in the organization the documented allow or deny on every RPC", async () => {
    const wrong: string[] = [];
    for (const { service, method } of methods) {
      const permission = permissions.get(`${service.name}.${method.name}`) as Permission;
      for (const role of ROLES) {
        const { code } = await call(transport, service, method, orgA, t.as(keysA.get(role) as string));
        const allowed = AUTHORIZATION_TABLE[permission].includes(role);
        const denied = code === "PermissionDenied";
        if (allowed === denied) wrong.push(`${service.name}.${method.name} as ${Role[role]}: ${code}`);
      }
      const platform = await call(transport, service, method, orgA, t.as(t.adminKey));
      if (platform.code === "PermissionDenied")
        wrong.push(`${service.name}.${method.name} as platform admin: denied`);
      const anonymous = await call(transport, service, method, orgA, {});
      if (anonymous.code !== "Unauthenticated")
        wrong.push(`${service.name}.${method.name} without a key: ${anonymous.code}`);
    }
    expect(wrong).toEqual([]);
  }, 60_000);

  it("never gives another organization's members this organization's data", async () => {
    const leaks: string[] = [];
    for (const { service, method } of methods) {
      for (const role of ROLES) {
        const { code, output } = await call(
          transport,
          service,
          method,
          orgA,
          t.as(keysB.get(role) as string),
        );
        if (code === "PermissionDenied" || code === "NotFound") continue;
        const text = JSON.stringify(output, (_k, v) => (typeof v === "bigint" ? String(v) : v));
        if (code !== "ok" || text.includes(orgA))
          leaks.push(`${service.name}.${method.name} as B/${Role[role]}: ${code}`);
      }
    }
    expect(leaks).toEqual([]);
  }, 60_000);

  it("refuses API keys of every role on the worker-only service", async () => {
    for (const method of WorkerService.methods) {
      for (const role of ROLES) {
        const { code } = await call(transport, WorkerService, method, orgA, t.as(keysA.get(role) as string));
        expect(code, `${method.name} as ${Role[role]}`).toBe("Unauthenticated");
      }
    }
  });
});
