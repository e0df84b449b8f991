import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type Route,
  RouteSchema,
  type RouteService,
} from "../../../proto/gen/llmgateway/v1/route_service_pb.js";
import type { FallbackStep, RouteTarget } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import {
  errorClassToDb,
  fallbacksToProto,
  optTs,
  type StoredFallback,
  type StoredTarget,
  targetsToProto,
} from "./mappers.js";
import { notFound, requireText, requireUuid } from "./validate.js";

interface RouteRow {
  id: string;
  org_id: string;
  model: string;
  targets: StoredTarget[];
  fallbacks: StoredFallback[];
  created_at: Date;
  updated_at: Date;
}

const MAX_TARGETS = 64;
const MAX_FALLBACKS = 8;

function toProto(r: RouteRow): Route {
  return create(RouteSchema, {
    id: r.id,
    orgId: r.org_id,
    model: r.model,
    targets: targetsToProto(r.targets),
    fallbacks: fallbacksToProto(r.fallbacks),
    ...optTs("createdAt", r.created_at),
    ...optTs("updatedAt", r.updated_at),
  });
}

/** Checks targets and that every credential belongs to the same organization. */
async function validateTargets(
  db: Queryable,
  orgId: string,
  targets: readonly RouteTarget[],
  field = "targets",
): Promise<StoredTarget[]> {
  if (targets.length === 0)
    throw new ConnectError(`${field} needs at least one target`, Code.InvalidArgument);
  if (targets.length > MAX_TARGETS) {
    throw new ConnectError(`${field} has more than ${MAX_TARGETS} targets`, Code.InvalidArgument);
  }
  const stored = targets.map((t, i) => ({
    credentialId: requireUuid(t.credentialId, `${field}[${i}].credential_id`),
    upstreamModel: t.upstreamModel.trim(),
    weight: t.weight === 0 ? 1 : t.weight,
  }));
  const ids = [...new Set(stored.map((t) => t.credentialId))];
  const { rows } = await db.query<{ id: string }>(
    "SELECT id FROM credentials WHERE org_id = $1 AND id = ANY($2::uuid[])",
    [orgId, ids],
  );
  const found = new Set(rows.map((r) => r.id));
  const missing = ids.find((id) => !found.has(id));
  if (missing)
    throw new ConnectError(`credential ${missing} not found in this organization`, Code.InvalidArgument);
  return stored;
}

/**
 * Checks the fallback chain: bounded length, valid targets, at least one known
 * trigger per step, and never ERROR_CLASS_BAD_REQUEST (the provider would
 * answer any step the same way).
 */
async function validateFallbacks(
  db: Queryable,
  orgId: string,
  steps: readonly FallbackStep[],
): Promise<StoredFallback[]> {
  if (steps.length > MAX_FALLBACKS) {
    throw new ConnectError(`fallbacks has more than ${MAX_FALLBACKS} steps`, Code.InvalidArgument);
  }
  const stored: StoredFallback[] = [];
  for (const [i, step] of steps.entries()) {
    const targets = await validateTargets(db, orgId, step.targets, `fallbacks[${i}].targets`);
    if (step.triggers.length === 0 || step.triggers.includes(ErrorClass.UNSPECIFIED)) {
      throw new ConnectError(
        `fallbacks[${i}].triggers needs at least one error class, and no ERROR_CLASS_UNSPECIFIED`,
        Code.InvalidArgument,
      );
    }
    if (step.triggers.includes(ErrorClass.BAD_REQUEST)) {
      throw new ConnectError(
        `fallbacks[${i}].triggers: bad requests are never a fallback trigger (ERROR_CLASS_BAD_REQUEST)`,
        Code.InvalidArgument,
      );
    }
    const unknown = step.triggers.find((t) => ErrorClass[t] === undefined);
    if (unknown !== undefined) {
      throw new ConnectError(
        `fallbacks[${i}].triggers: ${unknown} is not a known error class`,
        Code.InvalidArgument,
      );
    }
    stored.push({ targets, triggers: [...new Set(step.triggers)].map(errorClassToDb) });
  }
  return stored;
}

/** Upserts a route by (org, model); shared by the RPC and the demo bootstrap. */
export async function upsertRoute(
  db: Queryable,
  orgId: string,
  model: string,
  targets: readonly StoredTarget[],
  fallbacks: readonly StoredFallback[] = [],
): Promise<{ before: RouteRow | undefined; after: RouteRow }> {
  const before = (
    await db.query<RouteRow>("SELECT * FROM routes WHERE org_id = $1 AND model = $2 FOR UPDATE", [
      orgId,
      model,
    ])
  ).rows[0];
  const { rows } = await db.query<RouteRow>(
    `INSERT INTO routes (id, org_id, model, targets, fallbacks) VALUES ($1, $2, $3, $4, $5)
     ON CONFLICT (org_id, model) DO UPDATE SET targets = EXCLUDED.targets, fallbacks = EXCLUDED.fallbacks,
       updated_at = now() RETURNING *`,
    [randomUUID(), orgId, model, JSON.stringify(targets), JSON.stringify(fallbacks)],
  );
  return { before, after: rows[0] as RouteRow };
}

export function createRouteService(deps: ServiceDeps): ServiceImpl<typeof RouteService> {
  return {
    async putRoute(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "routes.manage", orgId);
      const reason = requireReason(req.reason);
      const model = requireText(req.model, "model");
      const row = await commitChange(deps, `route "${model}"`, async (tx) => {
        const targets = await validateTargets(tx, orgId, req.targets);
        const fallbacks = await validateFallbacks(tx, orgId, req.fallbacks);
        const { before, after } = await upsertRoute(tx, orgId, model, targets, fallbacks);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: before ? "route.update" : "route.create",
          resourceType: "route",
          resourceId: after.id,
          before: before
            ? { model: before.model, targets: before.targets, fallbacks: before.fallbacks }
            : undefined,
          after: { model: after.model, targets: after.targets, fallbacks: after.fallbacks },
          reason,
        });
        await recordChanges(tx, [{ kind: "route", id: after.id }]);
        return after;
      });
      return { route: toProto(row) };
    },

    async listRoutes(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "routes.read", orgId);
      const rows = await read(
        "routes",
        async () =>
          (await deps.db.query<RouteRow>("SELECT * FROM routes WHERE org_id = $1 ORDER BY model", [orgId]))
            .rows,
      );
      return { routes: rows.map(toProto) };
    },

    async deleteRoute(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      const id = requireUuid(req.id, "id");
      authorize(principal, "routes.manage", orgId);
      const reason = requireReason(req.reason);
      await commitChange(deps, "route", async (tx) => {
        const before = (
          await tx.query<RouteRow>("DELETE FROM routes WHERE id = $1 AND org_id = $2 RETURNING *", [
            id,
            orgId,
          ])
        ).rows[0];
        if (!before) throw notFound("route");
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "route.delete",
          resourceType: "route",
          resourceId: id,
          before: { model: before.model, targets: before.targets },
          reason,
        });
        await recordChanges(tx, [{ kind: "route", id }]);
      });
      return {};
    },
  };
}
