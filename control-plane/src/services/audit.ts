import { create, type JsonObject } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type AuditEvent,
  AuditEventSchema,
  type AuditFilter,
  type AuditService,
} from "../../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { type AuditRow, verifyChain } from "../audit/verify.js";
import { authorize } from "../auth/authorize.js";
import { requirePrincipal } from "../auth/principal.js";
import { read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireUuid } from "./validate.js";

const EXPORT_BATCH = 500;

function toProto(r: AuditRow): AuditEvent {
  // protobuf-es represents google.protobuf.Struct fields as plain JSON objects.
  const isObject = (v: unknown): v is JsonObject => v !== null && typeof v === "object" && !Array.isArray(v);
  return create(AuditEventSchema, {
    id: String(r.id),
    orgId: r.org_id ?? "",
    seq: BigInt(r.seq),
    actor: r.actor,
    action: r.action,
    resourceType: r.resource_type,
    resourceId: r.resource_id,
    reason: r.reason,
    hash: r.hash.toString("hex"),
    ...optTs("occurredAt", r.occurred_at),
    ...(isObject(r.before) ? { before: r.before } : {}),
    ...(isObject(r.after) ? { after: r.after } : {}),
  });
}

/** SQL conditions for a filter, appended after `org_id = $1`. */
function whereOf(filter: AuditFilter | undefined, params: unknown[]): string {
  const conds: string[] = [];
  const add = (sql: string, value: unknown) => {
    params.push(value);
    conds.push(sql.replace("?", `$${params.length}`));
  };
  if (filter?.actor) add("actor = ?", filter.actor);
  if (filter?.action) add("action = ?", filter.action);
  if (filter?.resourceType) add("resource_type = ?", filter.resourceType);
  if (filter?.resourceId) add("resource_id = ?", filter.resourceId);
  if (filter?.startTime) add("occurred_at >= ?", timestampDate(filter.startTime));
  if (filter?.endTime) add("occurred_at < ?", timestampDate(filter.endTime));
  return conds.map((c) => ` AND ${c}`).join("");
}

function pageCursor(token: string): number | undefined {
  if (!token) return undefined;
  const id = Number(Buffer.from(token, "base64url").toString("utf8"));
  if (!Number.isSafeInteger(id) || id <= 0)
    throw new ConnectError("page_token is not valid", Code.InvalidArgument);
  return id;
}

export function createAuditService(deps: ServiceDeps): ServiceImpl<typeof AuditService> {
  const orgFor = (orgId: string, ctx: HandlerContext) => {
    const principal = requirePrincipal(ctx);
    const id = requireUuid(orgId, "org_id");
    authorize(principal, "audit.read", id);
    return id;
  };

  return {
    async listAuditEvents(req, ctx) {
      const orgId = orgFor(req.orgId, ctx);
      if (req.pageSize > 1000) throw new ConnectError("page_size must be at most 1000", Code.InvalidArgument);
      const size = req.pageSize || 100;
      const params: unknown[] = [orgId];
      let sql = `SELECT * FROM audit_log WHERE org_id = $1${whereOf(req.filter, params)}`;
      const cursor = pageCursor(req.pageToken);
      if (cursor !== undefined) {
        params.push(cursor);
        sql += ` AND id < $${params.length}`;
      }
      params.push(size + 1);
      sql += ` ORDER BY id DESC LIMIT $${params.length}`;
      const rows = await read("audit events", async () => (await deps.db.query<AuditRow>(sql, params)).rows);
      const page = rows.slice(0, size);
      const last = page.at(-1);
      return {
        events: page.map(toProto),
        nextPageToken: rows.length > size && last ? Buffer.from(String(last.id)).toString("base64url") : "",
      };
    },

    async *exportAuditEvents(req, ctx) {
      const orgId = orgFor(req.orgId, ctx);
      let after = 0;
      for (;;) {
        const params: unknown[] = [orgId];
        const filter = whereOf(req.filter, params);
        params.push(after, EXPORT_BATCH);
        const rows = await read(
          "audit events",
          async () =>
            (
              await deps.db.query<AuditRow>(
                `SELECT * FROM audit_log WHERE org_id = $1${filter} AND id > $${params.length - 1} ORDER BY id LIMIT $${params.length}`,
                params,
              )
            ).rows,
        );
        if (rows.length === 0) return;
        yield { events: rows.map(toProto) };
        after = Number(rows.at(-1)?.id);
        if (rows.length < EXPORT_BATCH) return;
      }
    },

    async verifyAuditChain(req, ctx) {
      const orgId = orgFor(req.orgId, ctx);
      const report = await read("audit chain", () => verifyChain(deps.db, orgId));
      return {
        intact: report.intact,
        rowsChecked: BigInt(report.rowsChecked),
        firstBrokenId: report.firstBroken?.id ?? "",
        firstBrokenSeq: BigInt(report.firstBroken?.seq ?? 0),
        problem: report.firstBroken?.problem ?? "",
      };
    },
  };
}
