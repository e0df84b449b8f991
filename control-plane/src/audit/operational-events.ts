import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Logger } from "../../../lib/src/logger.js";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type OperationalEvent,
  OperationalEventKind,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { mapDbError } from "../db/errors.js";
import { type Db, withTransaction } from "../db/pool.js";
import { errorClassToDb } from "../services/mappers.js";
import { requireUuid } from "../services/validate.js";
import { appendAuditOnce, type IdentifiedAuditEntry } from "./audit-log.js";

/** Most operational events one IngestUsage call may carry. */
export const MAX_OPERATIONAL_EVENTS = 1000;
const MAX_DETAIL = 500;
/** A worker id as ReportWorkerStatus allows it; event ids are the worker id plus a sequence. */
const MAX_WORKER_ID = 200;
const MAX_EVENT_ID = 256;

/** Audit action per event kind; UNSPECIFIED (and unknown values) are refused. */
const ACTIONS: Readonly<Partial<Record<OperationalEventKind, string>>> = {
  [OperationalEventKind.FALLBACK_ACTIVATED]: "gateway.fallback_activated",
  [OperationalEventKind.PROVIDER_ERROR]: "gateway.provider_error",
  [OperationalEventKind.CIRCUIT_OPENED]: "gateway.circuit_opened",
  [OperationalEventKind.CIRCUIT_HALF_OPEN]: "gateway.circuit_half_open",
  [OperationalEventKind.CIRCUIT_CLOSED]: "gateway.circuit_closed",
};

function requireId(value: string, field: string, max: number): string {
  if (!value) throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  if (value.length > max)
    throw new ConnectError(`${field} is longer than ${max} characters`, Code.InvalidArgument);
  return value;
}

/**
 * Validates a worker's operational events and turns each into an audit entry
 * in its organization's chain: actor `worker:<id>`, the credential as the
 * resource. Throws InvalidArgument naming the first bad field.
 */
export function operationalAuditEntries(
  workerId: string,
  events: readonly OperationalEvent[],
): IdentifiedAuditEntry[] {
  if (events.length === 0) return [];
  if (events.length > MAX_OPERATIONAL_EVENTS) {
    throw new ConnectError(
      `at most ${MAX_OPERATIONAL_EVENTS} operational events per call`,
      Code.InvalidArgument,
    );
  }
  const worker = requireId(workerId, "worker_id", MAX_WORKER_ID);
  return events.map((e, i) => {
    const field = `operational_events[${i}]`;
    const eventId = requireId(e.eventId, `${field}.event_id`, MAX_EVENT_ID);
    const orgId = requireUuid(e.orgId, `${field}.org_id`);
    const credentialId = requireUuid(e.credentialId, `${field}.credential_id`);
    const action = ACTIONS[e.kind];
    if (!action) throw new ConnectError(`${field}.kind must be a known event kind`, Code.InvalidArgument);
    if (e.detail.length > MAX_DETAIL) {
      throw new ConnectError(`${field}.detail is longer than ${MAX_DETAIL} characters`, Code.InvalidArgument);
    }
    const known = e.errorClass !== ErrorClass.UNSPECIFIED && ErrorClass[e.errorClass] !== undefined;
    return {
      eventId,
      orgId,
      actor: `worker:${worker}`,
      action,
      resourceType: "credential",
      resourceId: credentialId,
      after: {
        provider: e.provider,
        model: e.model,
        errorClass: known ? errorClassToDb(e.errorClass) : null,
        count: e.count,
        firstAt: e.firstAt ? timestampDate(e.firstAt).toISOString() : null,
        lastAt: e.lastAt ? timestampDate(e.lastAt).toISOString() : null,
        detail: e.detail,
      },
      reason: `automatic: reported by worker ${worker}`,
    };
  });
}

/**
 * Stores the entries in one transaction, each at most once (by event id).
 * Events of organizations that do not exist are dropped with a warning rather
 * than refused: the worker would otherwise resend its batch forever. Returns
 * how many were stored by this call.
 */
export async function storeOperationalEvents(
  db: Db,
  log: Logger,
  entries: readonly IdentifiedAuditEntry[],
): Promise<number> {
  if (entries.length === 0) return 0;
  try {
    return await withTransaction(db, async (tx) => {
      const orgIds = [...new Set(entries.map((e) => e.orgId))];
      const { rows } = await tx.query<{ id: string }>(
        "SELECT id FROM organizations WHERE id = ANY($1::uuid[])",
        [orgIds],
      );
      const known = new Set(rows.map((r) => r.id));
      const kept = entries.filter((e) => e.orgId !== null && known.has(e.orgId));
      if (kept.length < entries.length) {
        log.warn(
          { dropped: entries.length - kept.length },
          "operational events for unknown organizations dropped",
        );
      }
      return appendAuditOnce(tx, kept);
    });
  } catch (err) {
    throw mapDbError(err, "operational events");
  }
}
