import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type Worker, WorkerSchema } from "../../../proto/gen/llmgateway/v1/fleet_service_pb.js";
import type { ReportWorkerStatusRequest } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { Queryable } from "../db/pool.js";
import { optTs } from "./mappers.js";

/** A worker not heard from for this long is shown as stale (workers report every 10 s). */
export const STALE_AFTER_SECONDS = 30;
/** A worker not heard from for this long is deleted on the next report of any worker. */
export const FORGET_AFTER_HOURS = 24;

interface WorkerRow {
  worker_id: string;
  hostname: string;
  build_version: string;
  version: number;
  active_requests: number;
  usage_buffered: number;
  usage_dropped: number;
  draining: boolean;
  control_plane_replica: string;
  first_seen_at: Date;
  last_seen_at: Date;
  stale: boolean;
}

function requireField(value: string, field: string, max: number, required = false): string {
  if (required && !value) throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  if (value.length > max)
    throw new ConnectError(`${field} is longer than ${max} characters`, Code.InvalidArgument);
  return value;
}

/**
 * Upserts the worker's row (last_seen_at = now, first_seen_at kept) and
 * deletes other workers not seen for FORGET_AFTER_HOURS, in one statement.
 * Liveness telemetry, not configuration: no audit row, no routing-table version.
 */
export async function recordWorkerStatus(
  db: Queryable,
  replicaId: string,
  req: ReportWorkerStatusRequest,
): Promise<void> {
  const workerId = requireField(req.workerId, "worker_id", 200, true);
  const hostname = requireField(req.hostname, "hostname", 255);
  const buildVersion = requireField(req.buildVersion, "build_version", 200);
  await db.query(
    `WITH forgotten AS (
       DELETE FROM workers WHERE last_seen_at < now() - make_interval(hours => $10) AND worker_id <> $1
     )
     INSERT INTO workers (worker_id, hostname, build_version, version, active_requests, usage_buffered,
                          usage_dropped, draining, control_plane_replica)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
     ON CONFLICT (worker_id) DO UPDATE SET hostname = EXCLUDED.hostname, build_version = EXCLUDED.build_version,
       version = EXCLUDED.version, active_requests = EXCLUDED.active_requests,
       usage_buffered = EXCLUDED.usage_buffered, usage_dropped = EXCLUDED.usage_dropped,
       draining = EXCLUDED.draining, control_plane_replica = EXCLUDED.control_plane_replica,
       last_seen_at = now()`,
    [
      workerId,
      hostname,
      buildVersion,
      req.version.toString(),
      req.activeRequests,
      req.usageBuffered,
      req.usageDropped.toString(),
      req.draining,
      replicaId,
      FORGET_AFTER_HOURS,
    ],
  );
}

/** The workers seen in the last FORGET_AFTER_HOURS, by id, each flagged stale or not. */
export async function listWorkerRows(db: Queryable): Promise<Worker[]> {
  const { rows } = await db.query<WorkerRow>(
    `SELECT *, last_seen_at < now() - make_interval(secs => $1) AS stale FROM workers
     WHERE last_seen_at >= now() - make_interval(hours => $2) ORDER BY worker_id`,
    [STALE_AFTER_SECONDS, FORGET_AFTER_HOURS],
  );
  return rows.map((r) =>
    create(WorkerSchema, {
      workerId: r.worker_id,
      hostname: r.hostname,
      buildVersion: r.build_version,
      version: BigInt(r.version),
      activeRequests: r.active_requests,
      usageBuffered: r.usage_buffered,
      usageDropped: BigInt(r.usage_dropped),
      draining: r.draining,
      controlPlaneReplica: r.control_plane_replica,
      stale: r.stale,
      ...optTs("firstSeenAt", r.first_seen_at),
      ...optTs("lastSeenAt", r.last_seen_at),
    }),
  );
}
