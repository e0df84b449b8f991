import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { displayPrefix, generateMetricsToken, hashApiKey } from "../../../lib/src/api-key.js";
import {
  type MetricsToken,
  MetricsTokenSchema,
  type MetricsTokenService,
} from "../../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, type Principal, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable, Tx } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireGraceSeconds, retireRotated } from "./rotation.js";
import { notFound, requireText, requireUuid } from "./validate.js";

interface TokenRow {
  id: string;
  name: string;
  prefix: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
}

const COLUMNS = "id, name, prefix, created_at, expires_at, revoked_at";

function toProto(r: TokenRow): MetricsToken {
  return create(MetricsTokenSchema, {
    id: r.id,
    name: r.name,
    prefix: r.prefix,
    ...optTs("createdAt", r.created_at),
    ...optTs("expiresAt", r.expires_at),
    ...optTs("revokedAt", r.revoked_at),
  });
}

const auditView = (r: TokenRow) => ({
  name: r.name,
  prefix: r.prefix,
  expiresAt: r.expires_at,
  revoked: r.revoked_at !== null,
});

async function insertToken(db: Queryable, name: string): Promise<{ row: TokenRow; token: string }> {
  const token = generateMetricsToken();
  const { rows } = await db.query<TokenRow>(
    `INSERT INTO metrics_tokens (id, name, prefix, token_hash) VALUES ($1, $2, $3, $4) RETURNING ${COLUMNS}`,
    [randomUUID(), name, displayPrefix(token), hashApiKey(token)],
  );
  return { row: rows[0] as TokenRow, token };
}

/** Metrics tokens are platform-level (the metrics endpoint serves every tenant's series): platform admins only. */
export function createMetricsTokenService(deps: ServiceDeps): ServiceImpl<typeof MetricsTokenService> {
  const admin = (ctx: HandlerContext): Principal => {
    const principal = requirePrincipal(ctx);
    authorize(principal, "metrics_tokens.manage");
    return principal;
  };

  async function lock(tx: Tx, id: string): Promise<TokenRow> {
    const row = (
      await tx.query<TokenRow>(`SELECT ${COLUMNS} FROM metrics_tokens WHERE id = $1 FOR UPDATE`, [id])
    ).rows[0];
    if (!row) throw notFound("metrics token");
    return row;
  }

  const audit = (
    tx: Tx,
    principal: Principal,
    action: string,
    id: string,
    reason: string,
    before?: unknown,
    after?: unknown,
  ) =>
    appendAudit(tx, {
      orgId: null,
      actor: actorOf(principal),
      action,
      resourceType: "metrics_token",
      resourceId: id,
      before,
      after,
      reason,
    });

  return {
    async createMetricsToken(req, ctx) {
      const principal = admin(ctx);
      const name = requireText(req.name, "name");
      const reason = requireReason(req.reason);
      const { row, token } = await commitChange(deps, "metrics token", async (tx) => {
        const created = await insertToken(tx, name);
        await audit(
          tx,
          principal,
          "metrics_token.create",
          created.row.id,
          reason,
          undefined,
          auditView(created.row),
        );
        await recordChanges(tx, [{ kind: "metrics_token", id: created.row.id }]);
        return created;
      });
      return { metricsToken: toProto(row), token };
    },

    async listMetricsTokens(_req, ctx) {
      admin(ctx);
      const rows = await read(
        "metrics tokens",
        async () =>
          (await deps.db.query<TokenRow>(`SELECT ${COLUMNS} FROM metrics_tokens ORDER BY created_at`)).rows,
      );
      return { metricsTokens: rows.map(toProto) };
    },

    async rotateMetricsToken(req, ctx) {
      const principal = admin(ctx);
      const id = requireUuid(req.id, "id");
      const reason = requireReason(req.reason);
      requireGraceSeconds(req.graceSeconds);
      const result = await commitChange(deps, "metrics token", async (tx) => {
        const old = await lock(tx, id);
        if (old.revoked_at || (old.expires_at && old.expires_at.getTime() <= Date.now())) {
          throw new ConnectError(
            "the token is revoked or expired: create a new one instead",
            Code.FailedPrecondition,
          );
        }
        const created = await insertToken(tx, old.name);
        const previous = await retireRotated<TokenRow>(tx, "metrics_tokens", COLUMNS, id, req.graceSeconds);
        await audit(tx, principal, "metrics_token.rotate", id, reason, auditView(old), {
          ...auditView(previous),
          replacedBy: created.row.id,
        });
        await recordChanges(tx, [
          { kind: "metrics_token", id },
          { kind: "metrics_token", id: created.row.id },
        ]);
        return { created, previous };
      });
      return {
        metricsToken: toProto(result.created.row),
        token: result.created.token,
        previous: toProto(result.previous),
      };
    },

    async revokeMetricsToken(req, ctx) {
      const principal = admin(ctx);
      const id = requireUuid(req.id, "id");
      const reason = requireReason(req.reason);
      const row = await commitChange(deps, "metrics token", async (tx) => {
        const before = await lock(tx, id);
        const after = (
          await tx.query<TokenRow>(
            `UPDATE metrics_tokens SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
            [id],
          )
        ).rows[0] as TokenRow;
        await audit(tx, principal, "metrics_token.revoke", id, reason, auditView(before), auditView(after));
        await recordChanges(tx, [{ kind: "metrics_token", id }]);
        return after;
      });
      return { metricsToken: toProto(row) };
    },
  };
}
