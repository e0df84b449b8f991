import { create } from "@bufbuild/protobuf";
import { timestampDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  HeartbeatSchema,
  type WatchRoutingTableResponse,
  WatchRoutingTableResponseSchema,
  type WorkerService,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { ingestUsageRows } from "../analytics/ingest.js";
import { estimateCosts } from "../analytics/pricing.js";
import { requireWorker } from "../auth/principal.js";
import { currentVersion, oldestDeltaBase } from "../changes/change-log.js";
import type { TableBuilder } from "../changes/table-builder.js";
import type { WorkerRegistry } from "../changes/worker-registry.js";
import { withTransaction } from "../db/pool.js";
import type { ServiceDeps } from "./deps.js";

const MAX_USAGE_BATCH = 5000;

export interface WorkerServiceDeps extends ServiceDeps {
  tables: TableBuilder;
  workers: WorkerRegistry;
  heartbeatSeconds: number;
  /** The configured OIDC issuer; users are keyed by it. */
  oidcIssuer: string | undefined;
}

export function createWorkerService(deps: WorkerServiceDeps): ServiceImpl<typeof WorkerService> {
  const { db, tables } = deps;

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
          const woken = await deps.feed.wait(deps.heartbeatSeconds * 1000, ctx.signal);
          if (ctx.signal.aborted) return;
          if (!woken) yield heartbeat;
        }
      } finally {
        session.closed();
      }
    },

    async reportWorkerStatus(_req, ctx) {
      requireWorker(ctx);
      throw new ConnectError("worker status reporting is not built yet", Code.Unimplemented);
    },
    async ingestUsage(req, ctx) {
      requireWorker(ctx);
      if (req.events.length > MAX_USAGE_BATCH) {
        throw new ConnectError(`at most ${MAX_USAGE_BATCH} events per batch`, Code.InvalidArgument);
      }
      if (req.events.length === 0) return { accepted: 0, duplicates: 0 };
      const rows = req.events.map((e) => {
        if (!e.requestId || !e.orgId)
          throw new ConnectError("events need request_id and org_id", Code.InvalidArgument);
        return {
          request_id: e.requestId,
          org_id: e.orgId,
          api_key_id: e.apiKeyId || null,
          user_id: e.userId,
          provider: e.provider,
          credential_id: e.credentialId || null,
          requested_model: e.requestedModel,
          served_model: e.servedModel,
          request_type: e.requestType,
          streamed: e.streamed,
          status_code: e.statusCode,
          error_code: e.errorCode,
          prompt_tokens: Number(e.promptTokens),
          completion_tokens: Number(e.completionTokens),
          cached_tokens: Number(e.cachedTokens),
          reasoning_tokens: Number(e.reasoningTokens),
          started_at: (e.startedAt ? timestampDate(e.startedAt) : new Date()).toISOString(),
          duration_ms: e.durationMs,
          provider_duration_ms: e.providerDurationMs,
          time_to_first_token_ms: e.timeToFirstTokenMs,
          attempts: e.attempts,
          routing_version: Number(e.routingVersion),
          worker_id: req.workerId,
          estimated_cost_usd: e.estimatedCostUsd,
          ingested_at: new Date().toISOString(),
        };
      });
      const costs = await estimateCosts(
        db,
        rows.map((r) => ({
          orgId: r.org_id,
          provider: r.provider,
          model: r.served_model,
          promptTokens: r.prompt_tokens,
          completionTokens: r.completion_tokens,
          cachedTokens: r.cached_tokens,
        })),
      ).catch(() => rows.map(() => 0));
      const priced = rows.map((r, n) => ({
        ...r,
        estimated_cost_usd: r.estimated_cost_usd || (costs[n] ?? 0),
      }));
      try {
        const accepted = await ingestUsageRows(db, priced);
        return { accepted, duplicates: rows.length - accepted };
      } catch (err) {
        throw new ConnectError("usage batch rejected", Code.InvalidArgument, undefined, undefined, err);
      }
    },
  };
}
