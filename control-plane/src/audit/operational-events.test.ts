import { randomBytes, randomUUID } from "node:crypto";
import { type MessageInitShape, toJson } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditEventSchema, AuditService } from "../../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../../proto/gen/llmgateway/v1/organization_service_pb.js";
import {
  OperationalEventKind,
  type OperationalEventSchema,
  WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../../../test/helpers/control-plane.js";

type EventInit = MessageInitShape<typeof OperationalEventSchema>;
const codeOf = (err: unknown) => (err instanceof ConnectError ? Code[err.code] : String(err));

/** IngestUsage's operational events in the audit log, and its new usage columns. */
describe("operational events and usage error classes", () => {
  let t: TestControlPlane;
  let orgId = "";
  let credentialId = "";
  const logLines: string[] = [];
  const first = new Date(Date.now() - 10_000);
  const last = new Date(Date.now() - 1_000);

  const ingest = (req: Parameters<ReturnType<typeof t.client<typeof WorkerService>>["ingestUsage"]>[0]) =>
    t.client(WorkerService).ingestUsage(req, t.as(t.workerToken));
  const event = (kind: OperationalEventKind, extra: Record<string, unknown> = {}): EventInit =>
    ({
      eventId: `w-ops:${randomUUID()}`,
      orgId,
      kind,
      provider: "openai",
      credentialId,
      model: "gpt-4o-mini",
      errorClass: ErrorClass.RATE_LIMITED,
      count: 3,
      firstAt: timestampFromDate(first),
      lastAt: timestampFromDate(last),
      detail: "429 from upstream",
      ...extra,
    }) as EventInit;
  const auditRows = async () =>
    (
      await t
        .client(AuditService)
        .listAuditEvents({ orgId, filter: { actor: "worker:w-ops" }, pageSize: 1000 }, t.as(t.adminKey))
    ).events;

  beforeAll(async () => {
    t = await startTestControlPlane({ logLines });
    const admin = t.as(t.adminKey);
    orgId =
      (
        await t
          .client(OrganizationService)
          .createOrganization({ slug: `ops-${randomBytes(3).toString("hex")}`, reason: "t" }, admin)
      ).organization?.id ?? "";
    credentialId =
      (
        await t
          .client(CredentialService)
          .createCredential(
            { orgId, provider: "openai", name: "c", secret: "sk-test-123456789", reason: "t" },
            admin,
          )
      ).credential?.id ?? "";
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  it("stores each event as an audit row of its organization, once however often the batch is sent", async () => {
    const kinds = [
      OperationalEventKind.FALLBACK_ACTIVATED,
      OperationalEventKind.PROVIDER_ERROR,
      OperationalEventKind.CIRCUIT_OPENED,
      OperationalEventKind.CIRCUIT_HALF_OPEN,
      OperationalEventKind.CIRCUIT_CLOSED,
    ];
    const events = kinds.map((k) => event(k));
    const batch = { workerId: "w-ops", operationalEvents: events };
    expect(await ingest(batch)).toMatchObject({ accepted: 0, operationalEventsAccepted: 5 });
    expect(await ingest(batch)).toMatchObject({ operationalEventsAccepted: 0 }); // re-sent after a lost ack

    const rows = await auditRows();
    expect(rows.map((r) => r.action).sort()).toEqual([
      "gateway.circuit_closed",
      "gateway.circuit_half_open",
      "gateway.circuit_opened",
      "gateway.fallback_activated",
      "gateway.provider_error",
    ]);
    const row = rows.find((r) => r.action === "gateway.provider_error");
    expect(toJson(AuditEventSchema, row ?? ({} as never))).toMatchObject({
      actor: "worker:w-ops",
      resourceType: "credential",
      resourceId: credentialId,
      reason: "automatic: reported by worker w-ops",
      after: {
        provider: "openai",
        model: "gpt-4o-mini",
        errorClass: "rate_limited",
        count: 3,
        firstAt: first.toISOString(),
        lastAt: last.toISOString(),
        detail: "429 from upstream",
      },
    });
    const chain = await t.client(AuditService).verifyAuditChain({ orgId }, t.as(t.adminKey));
    expect(chain.intact).toBe(true);
    expect(chain.rowsChecked).toBeGreaterThanOrEqual(7n); // org + credential + 5 events
  });

  it("stores a batch's usage and operational events together, and repeats within a batch once", async () => {
    const requestId = randomUUID();
    const repeated = event(OperationalEventKind.PROVIDER_ERROR);
    const res = await ingest({
      workerId: "w-ops",
      events: [
        {
          requestId,
          orgId,
          provider: "openai",
          statusCode: 429,
          errorCode: "rate_limited",
          errorClass: ErrorClass.RATE_LIMITED,
          fallbackDepth: 2,
          startedAt: timestampNow(),
        },
      ],
      operationalEvents: [repeated, repeated],
    });
    expect(res).toMatchObject({ accepted: 1, duplicates: 0, operationalEventsAccepted: 1 });
    const { rows } = await t.cp.db.query(
      "SELECT error_class, fallback_depth FROM usage_events WHERE request_id = $1",
      [requestId],
    );
    expect(rows).toEqual([{ error_class: "rate_limited", fallback_depth: 2 }]);
  });

  it("stores a successful request's error class as empty", async () => {
    const requestId = randomUUID();
    await ingest({
      workerId: "w-ops",
      events: [{ requestId, orgId, statusCode: 200, startedAt: timestampNow() }],
    });
    const { rows } = await t.cp.db.query(
      "SELECT error_class, fallback_depth FROM usage_events WHERE request_id = $1",
      [requestId],
    );
    expect(rows).toEqual([{ error_class: "", fallback_depth: 0 }]);
  });

  it("refuses invalid events and then stores nothing of the call", async () => {
    const requestId = randomUUID();
    const usage = [{ requestId, orgId, statusCode: 200, startedAt: timestampNow() }];
    const cases: Array<[string, Record<string, unknown> | "no-worker" | "too-many"]> = [
      ["org_id", { orgId: "not-a-uuid" }],
      ["credential_id", { credentialId: "" }],
      ["kind", { kind: OperationalEventKind.UNSPECIFIED }],
      ["kind", { kind: 99 as OperationalEventKind }],
      ["detail", { detail: "x".repeat(501) }],
      ["event_id", { eventId: "" }],
      ["worker_id", "no-worker"],
      ["at most 1000", "too-many"],
    ];
    for (const [field, change] of cases) {
      const ops =
        change === "too-many"
          ? Array.from({ length: 1001 }, () => event(OperationalEventKind.PROVIDER_ERROR))
          : [event(OperationalEventKind.PROVIDER_ERROR, change === "no-worker" ? {} : change)];
      const err = await ingest({
        workerId: change === "no-worker" ? "" : "w-ops",
        events: usage,
        operationalEvents: ops,
      }).catch((e: unknown) => e);
      expect(codeOf(err), field).toBe("InvalidArgument");
      expect((err as ConnectError).rawMessage, field).toContain(field);
    }
    const { rows } = await t.cp.db.query("SELECT 1 FROM usage_events WHERE request_id = $1", [requestId]);
    expect(rows).toHaveLength(0);
    expect(
      await ingest({ workerId: "w-ops", events: [{ ...usage[0], fallbackDepth: 9 }] }).catch(codeOf),
    ).toBe("InvalidArgument");
  });

  it("drops events of organizations that do not exist instead of refusing the batch forever", async () => {
    const res = await ingest({
      workerId: "w-ops",
      operationalEvents: [event(OperationalEventKind.PROVIDER_ERROR, { orgId: randomUUID() })],
    });
    expect(res.operationalEventsAccepted).toBe(0);
    expect(logLines.some((l) => l.includes("operational events for unknown organizations dropped"))).toBe(
      true,
    );
  });

  it("refuses API keys", async () => {
    const err = await t
      .client(WorkerService)
      .ingestUsage(
        { workerId: "w-ops", operationalEvents: [event(OperationalEventKind.PROVIDER_ERROR)] },
        t.as(t.adminKey),
      )
      .catch(codeOf);
    expect(err).toBe("Unauthenticated");
  });
});
