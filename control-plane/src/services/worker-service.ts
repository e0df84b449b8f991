import { create } from "@bufbuild/protobuf";
import { timestampNow } from "@bufbuild/protobuf/wkt";
import type { ServiceImpl } from "@connectrpc/connect";
import {
  HeartbeatSchema,
  type WatchRoutingTableResponse,
  WatchRoutingTableResponseSchema,
  type WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { requireWorker } from "../auth/principal.js";
import { currentVersion, oldestDeltaBase } from "../changes/change-log.js";
import type { TableBuilder } from "../changes/table-builder.js";
import type { WorkerRegistry } from "../changes/worker-registry.js";
import { withTransaction } from "../db/pool.js";
import { recordTelemetry, type ServiceDeps } from "./deps.js";
import { createUsageIngest } from "./ingest-usage.js";
import { recordWorkerStatus } from "./worker-status.js";

export interface WorkerServiceDeps extends ServiceDeps {
  tables: TableBuilder;
  workers: WorkerRegistry;
  heartbeatSeconds: number;
  /** The configured OIDC issuer; users are keyed by it. */
  oidcIssuer: string | undefined;
  /** This replica's id, recorded with each worker status report. */
  replicaId: string;
}

/** The worker-facing service: routing-table stream, usage and operational events, status reports. */
export function createWorkerService(deps: WorkerServiceDeps): ServiceImpl<typeof WorkerService> {
  const { db, tables } = deps;
  const ingestUsage = createUsageIngest(deps);

  /** A snapshot, or a delta when `from` is still covered by the change log; consistent at one version. */
  function tableSince(from: number): Promise<WatchRoutingTableResponse> {
    return withTransaction(
      db,
      async (tx) => {
        const version = await currentVersion(tx);
        if (from > 0 && from <= version && from >= (await oldestDeltaBase(tx))) {
          const delta = await tables.delta(tx, from, version);
          return create(WatchRoutingTableResponseSchema, {
            version: BigInt(version),
            payload: { case: "delta", value: delta },
          });
        }
        const snapshot = await tables.snapshot(tx);
        return create(WatchRoutingTableResponseSchema, {
          version: BigInt(version),
          payload: { case: "snapshot", value: snapshot },
        });
      },
      "REPEATABLE READ",
    );
  }

  return {
    async *watchRoutingTable(req, ctx) {
      requireWorker(ctx);
      const workerId = req.workerId || "unknown";
      const session = deps.workers.connected({
        workerId,
        hostname: req.hostname,
        buildVersion: req.buildVersion,
      });
      const heartbeat = create(WatchRoutingTableResponseSchema, {});
      try {
        let version = Number(req.knownVersion);
        for (;;) {
          const seen = deps.feed.generation; // before the read, so a wake-up during it is not lost
          const latest = await currentVersion(db);
          if (latest !== version || !session.sentOnce) {
            const message = await tableSince(version);
            version = Number(message.version);
            session.sent(version);
            yield message;
            continue;
          }
          heartbeat.version = BigInt(version);
          heartbeat.payload = {
            case: "heartbeat",
            value: create(HeartbeatSchema, {
              serverTime: timestampNow(),
              intervalSeconds: deps.heartbeatSeconds,
            }),
          };
          const woken = await deps.feed.wait(deps.heartbeatSeconds * 1000, ctx.signal, seen);
          if (ctx.signal.aborted) return;
          if (!woken) yield heartbeat;
        }
      } finally {
        session.closed();
      }
    },

    async reportWorkerStatus(req, ctx) {
      requireWorker(ctx);
      await recordTelemetry("worker status", () => recordWorkerStatus(db, deps.replicaId, req));
      return {};
    },

    async ingestUsage(req, ctx) {
      requireWorker(ctx);
      return ingestUsage(req.workerId, req.events, req.operationalEvents);
    },
  };
}
