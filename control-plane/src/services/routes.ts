import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Route,
  RouteSchema,
  type RouteService,
} from "../../../proto/gen/llmgateway/v1/route_service_pb.js";
import type { RouteTarget } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs, type StoredTarget, targetsToProto } from "./mappers.js";
import { notFound, requireText, requireUuid } from "./validate.js";

interface RouteRow {
  id: string;
  org_id: string;
  model: string;
  targets: StoredTarget[];
  created_at: Date;
  updated_at: Date;
}

const MAX_TARGETS = 64;

function toProto(r: RouteRow): Route {
  return create(RouteSchema, {
    id: r.id,
    orgId: r.org_id,
    model: r.model,
    targets: targetsToProto(r.targets),
    ...optTs("createdAt", r.created_at),
    ...optTs("updatedAt", r.updated_at),
  });
}

/** Checks targets and that every credential belongs to the same organization. */
async function validateTargets(
  db: Queryable,
  orgId: string,
  targets: readonly RouteTarget[],
): Promise<StoredTarget[]> {
  if (targets.length === 0) throw new ConnectError("a route needs at least one target", Code.InvalidArgument);
  if (targets.length > MAX_TARGETS) {
    throw new ConnectError(`a route has at most ${MAX_TARGETS} targets`, Code.InvalidArgument);
  }
  const stored = targets.map((t, i) => ({
    credentialId: requireUuid(t.credentialId, `targets[${i}].credential_id`),
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

/** Upserts a route by (org, model); shared by the RPC and the demo bootstrap. */
export async function upsertRoute(
  db: Queryable,
  orgId: string,
  model: string,
  targets: readonly StoredTarget[],
): Promise<{ before: RouteRow | undefined; after: RouteRow }> {
  const before = (
    await db.query<RouteRow>("SELECT * FROM routes WHERE org_id = $1 AND model = $2 FOR UPDATE", [
      orgId,
      model,
    ])
  ).rows[0];
  const { rows } = await db.query<RouteRow>(
    `INSERT INTO routes (id, org_id, model, targets) VALUES ($1, $2, $3, $4)
     ON CONFLICT (org_id, model) DO UPDATE SET targets = EXCLUDED.targets, updated_at = now() RETURNING *`,
    [randomUUID(), orgId, model, JSON.stringify(targets)],
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
        const { before, after } = await upsertRoute(tx, orgId, model, targets);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: before ? "route.update" : "route.create",
          resourceType: "route",
          resourceId: after.id,
          before: before ? { model: before.model, targets: before.targets } : undefined,
          after: { model: after.model, targets: after.targets },
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
