import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/src/paths.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

const run = promisify(execFile);
const BUF = join(projectRoot(), "node_modules", ".bin", "buf");

/** grpcurl's job on these machines: `buf curl` with server reflection, no local schema. */
describe("gRPC reflection and health through buf curl", () => {
  let t: TestControlPlane;
  const curl = async (...args: string[]) =>
    (await run(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], { timeout: 30_000 }))
      .stdout;

  beforeAll(async () => {
    t = await startTestControlPlane();
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("lists every service and method via reflection (v1 and v1alpha)", async () => {
    for (const protocol of ["grpc-v1", "grpc-v1alpha"]) {
      const services = (await curl("--reflect-protocol", protocol, "--list-services", t.cp.url))
        .trim()
        .split("\n");
      expect(services).toEqual(
        expect.arrayContaining([
          "llmgateway.v1.CredentialService",
          "llmgateway.v1.AuditService",
          "llmgateway.v1.WorkerService",
          "grpc.health.v1.Health",
          "grpc.reflection.v1.ServerReflection",
        ]),
      );
    }
    const methods = await curl("--list-methods", t.cp.url);
    expect(methods).toContain("llmgateway.v1.CredentialService/DisableCredential");
    expect(methods).toContain("llmgateway.v1.AuditService/ExportAuditEvents");
  });

  it("answers raw reflection requests: by filename (with imports), by method symbol, unknown symbol", async () => {
    const reflect = async (request: object) =>
      JSON.parse(
        await curl(
          "-d",
          JSON.stringify(request),
          `${t.cp.url}/grpc.reflection.v1.ServerReflection/ServerReflectionInfo`,
        ),
      );
    const byName = await reflect({ fileByFilename: "llmgateway/v1/worker_service.proto" });
    // worker_service.proto, routing_table.proto, timestamp.proto and their imports.
    expect(byName.fileDescriptorResponse.fileDescriptorProto.length).toBeGreaterThanOrEqual(3);
    const wkt = await reflect({ fileByFilename: "google/protobuf/timestamp.proto" });
    expect(wkt.fileDescriptorResponse.fileDescriptorProto).toHaveLength(1);
    const method = await reflect({ fileContainingSymbol: "llmgateway.v1.WorkerService.IngestUsage" });
    expect(method.fileDescriptorResponse.fileDescriptorProto.length).toBeGreaterThanOrEqual(3);
    const unknown = await reflect({ fileContainingSymbol: "no.such.Symbol" });
    expect(unknown.errorResponse.errorCode).toBe(5);
  });

  it("calls a unary and a server-streaming RPC with the schema from reflection", async () => {
    const auth = ["-H", `Authorization: Bearer ${t.adminKey}`];
    const orgs = JSON.parse(
      await curl(...auth, `${t.cp.url}/llmgateway.v1.OrganizationService/ListOrganizations`),
    );
    expect(orgs.organizations[0].slug).toBe("default");
    const exported = await curl(
      ...auth,
      "-d",
      JSON.stringify({ orgId: t.cp.bootstrapOrgId }),
      `${t.cp.url}/llmgateway.v1.AuditService/ExportAuditEvents`,
    );
    expect(exported).toContain('"action": "organization.create"');
    expect(exported).toContain('"action": "api_key.create"');
  });

  it("answers grpc.health.v1 Check", async () => {
    expect(JSON.parse(await curl(`${t.cp.url}/grpc.health.v1.Health/Check`))).toEqual({ status: "SERVING" });
    const unknown = await curl(
      "-d",
      '{"service":"no.such.Service"}',
      `${t.cp.url}/grpc.health.v1.Health/Check`,
    ).catch((e: { stderr?: string }) => e.stderr ?? "");
    expect(unknown).toContain("not_found");
  });
});
