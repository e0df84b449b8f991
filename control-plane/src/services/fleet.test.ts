import { randomBytes } from "node:crypto";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ApiKeyService } from "../../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { FleetService } from "../../../proto/gen/llmgateway/v1/fleet_service_pb.js";
import { OrganizationService } from "../../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { WorkerService } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../../../test/helpers/control-plane.js";

const codeOf = (err: unknown) => (err instanceof ConnectError ? Code[err.code] : String(err));

/** WorkerService.ReportWorkerStatus feeding FleetService.ListWorkers. */
describe("worker status and the worker list", () => {
  let t: TestControlPlane;
  let ownerKey = "";
  const report = (workerId: string, extra: Record<string, unknown> = {}) =>
    t.client(WorkerService).reportWorkerStatus(
      {
        workerId,
        hostname: "host-1",
        buildVersion: "0.1.0",
        version: 3n,
        activeRequests: 2,
        usageBuffered: 10,
        usageDropped: 1n,
        ...extra,
      },
      t.as(t.workerToken),
    );
  const list = (key = t.adminKey) => t.client(FleetService).listWorkers({}, t.as(key));

  beforeAll(async () => {
    t = await startTestControlPlane();
    const admin = t.as(t.adminKey);
    const orgId =
      (
        await t
          .client(OrganizationService)
          .createOrganization({ slug: `fleet-${randomBytes(3).toString("hex")}`, reason: "t" }, admin)
      ).organization?.id ?? "";
    ownerKey = (
      await t
        .client(ApiKeyService)
        .createApiKey({ orgId, name: "owner", role: Role.OWNER, reason: "t" }, admin)
    ).key;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("records a report and lists it with the control plane's version", async () => {
    await report("w-list");
    const res = await list();
    const w = res.workers.find((x) => x.workerId === "w-list");
    expect(w).toMatchObject({
      hostname: "host-1",
      buildVersion: "0.1.0",
      version: 3n,
      activeRequests: 2,
      usageBuffered: 10,
      usageDropped: 1n,
      draining: false,
      controlPlaneReplica: t.cp.replicaId,
      stale: false,
    });
    const { rows } = await t.cp.db.query<{ version: number }>("SELECT version FROM config_state");
    expect(res.currentVersion).toBe(BigInt(rows[0]?.version ?? -1));
    expect(res.currentVersion).toBeGreaterThan(0n);
  });

  it("updates the row on each report, keeping first_seen_at", async () => {
    await report("w-update");
    const first = (await list()).workers.find((x) => x.workerId === "w-update");
    await new Promise((r) => setTimeout(r, 20));
    await report("w-update", { version: 9n, draining: true, hostname: "host-2" });
    const second = (await list()).workers.find((x) => x.workerId === "w-update");
    expect(second).toMatchObject({ version: 9n, draining: true, hostname: "host-2" });
    expect(second?.firstSeenAt).toEqual(first?.firstSeenAt);
    const seen = (w: typeof first) => (w?.lastSeenAt ? timestampDate(w.lastSeenAt).getTime() : 0);
    expect(seen(second)).toBeGreaterThan(seen(first));
  });

  it("flags workers silent for more than 30 s as stale and forgets them after 24 h", async () => {
    await report("w-stale");
    await report("w-gone");
    await t.cp.db.query(
      "UPDATE workers SET last_seen_at = now() - interval '31 seconds' WHERE worker_id = 'w-stale'",
    );
    await t.cp.db.query(
      "UPDATE workers SET last_seen_at = now() - interval '25 hours' WHERE worker_id = 'w-gone'",
    );
    const before = await list();
    expect(before.workers.find((x) => x.workerId === "w-stale")?.stale).toBe(true);
    expect(before.workers.map((x) => x.workerId)).not.toContain("w-gone"); // hidden on read
    await report("w-other");
    const { rows } = await t.cp.db.query("SELECT 1 FROM workers WHERE worker_id = 'w-gone'");
    expect(rows).toHaveLength(0); // deleted on write
  });

  it("refuses reports without the worker token or a worker id", async () => {
    const withKey = t
      .client(WorkerService)
      .reportWorkerStatus({ workerId: "w-key" }, t.as(t.adminKey))
      .catch(codeOf);
    expect(await withKey).toBe("Unauthenticated");
    expect(await report("").catch(codeOf)).toBe("InvalidArgument");
    expect(await report("x".repeat(201)).catch(codeOf)).toBe("InvalidArgument");
  });

  it("lets only platform admins list workers", async () => {
    expect(await list(ownerKey).catch(codeOf)).toBe("PermissionDenied");
    expect(await list(t.workerToken).catch(codeOf)).toBe("Unauthenticated");
    const rest = await fetch(`${t.cp.url}/rest/v1/llm-gateway/workers`, {
      headers: { authorization: `Bearer ${t.adminKey}` },
    });
    expect(rest.status).toBe(200);
    const body = (await rest.json()) as { workers: Array<{ workerId: string }>; currentVersion: string };
    expect(body.workers.map((w) => w.workerId)).toContain("w-list");
    expect(Number(body.currentVersion)).toBeGreaterThan(0);
  });
});
