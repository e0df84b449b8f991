import type { DescMethodUnary, MessageInitShape } from "@bufbuild/protobuf";
import { Code, ConnectError, type MethodImpl } from "@connectrpc/connect";
import {
  IngestUsageRequestWireSchema,
  type IngestUsageResponseSchema,
  type OperationalEvent,
  WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { ingestUsageRows } from "../analytics/ingest.js";
import {
  MAX_USAGE_BATCH,
  priceRecords,
  type UsageEventFields,
  usageRecords,
} from "../analytics/usage-rows.js";
import { decodeUsageEvent } from "../analytics/usage-wire.js";
import { operationalAuditEntries, storeOperationalEvents } from "../audit/operational-events.js";
import { requireWorker } from "../auth/principal.js";
import type { ServiceDeps } from "./deps.js";

type IngestUsageResult = MessageInitShape<typeof IngestUsageResponseSchema>;

/**
 * WorkerService.IngestUsage: validates a batch, prices the events the worker
 * did not, stores the new ones with their rollups and the operational
 * events, and says how many events were new and how many were duplicates.
 */
export function createUsageIngest(deps: ServiceDeps) {
  const { db } = deps;
  return async function ingestUsage(
    workerId: string,
    events: readonly UsageEventFields[],
    operationalEvents: readonly OperationalEvent[],
  ): Promise<IngestUsageResult> {
    // Everything is validated before anything is stored: a bad call stores nothing.
    const batch = usageRecords(workerId, events);
    const operational = operationalAuditEntries(workerId, operationalEvents);
    let accepted = 0;
    if (batch.records.length > 0) {
      try {
        await priceRecords(db, batch.records);
        accepted = await ingestUsageRows(db, batch);
      } catch (err) {
        throw new ConnectError("usage batch rejected", Code.InvalidArgument, undefined, undefined, err);
      }
    }
    // A separate transaction: both halves are idempotent, so a retried call completes either.
    const operationalEventsAccepted = await storeOperationalEvents(db, deps.log, operational);
    return { accepted, duplicates: batch.records.length - accepted, operationalEventsAccepted };
  };
}

/**
 * IngestUsage with its request read as IngestUsageRequestWire: the same
 * fields and wire, each event left as its UsageEvent bytes for
 * decodeUsageEvent. Used for every binary request (Connect, gRPC, gRPC-Web);
 * JSON requests go to the generated method.
 */
export const INGEST_USAGE_WIRE: DescMethodUnary<
  typeof IngestUsageRequestWireSchema,
  typeof IngestUsageResponseSchema
> = { ...WorkerService.method.ingestUsage, input: IngestUsageRequestWireSchema };

const INGEST_USAGE_PATH = `/${WorkerService.typeName}/${WorkerService.method.ingestUsage.name}`;

/** Whether an HTTP request is a binary IngestUsage call, for the router that reads it as IngestUsageRequestWire. */
export function isBinaryIngestUsage(url: string | undefined, contentType: string | undefined): boolean {
  return url === INGEST_USAGE_PATH && contentType !== undefined && !contentType.includes("json");
}

/** The implementation of INGEST_USAGE_WIRE: decodes each event, then ingests as the generated method does. */
export function createIngestUsageWire(deps: ServiceDeps): MethodImpl<typeof INGEST_USAGE_WIRE> {
  const ingest = createUsageIngest(deps);
  return async (req, ctx) => {
    requireWorker(ctx);
    if (req.events.length > MAX_USAGE_BATCH) {
      throw new ConnectError(`at most ${MAX_USAGE_BATCH} events per batch`, Code.InvalidArgument);
    }
    const events = req.events.map((bytes, i) => {
      try {
        return decodeUsageEvent(bytes);
      } catch (err) {
        throw new ConnectError(`events[${i}]: ${(err as Error).message}`, Code.InvalidArgument);
      }
    });
    return ingest(req.workerId, events, req.operationalEvents);
  };
}
