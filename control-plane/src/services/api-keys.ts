import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { displayPrefix, generateApiKey, hashApiKey } from "../../../lib/src/api-key.js";
import {
  type ApiKey,
  ApiKeySchema,
  type ApiKeyService,
} from "../../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, type Principal, requirePrincipal } from "../auth/principal.js";
import { roleFromDb, roleToDb } from "../auth/roles.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable, Tx } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireGraceSeconds, retireRotated } from "./rotation.js";
import { notFound, requireText, requireUuid } from "./validate.js";

interface KeyRow {
  id: string;
  org_id: string;
  name: string;
  prefix: string;
  role: string;
  created_at: Date;
  expires_at: Date | null;
  revoked_at: Date | null;
  last_used_at: Date | null;
  user_id: string | null;
}

const COLUMNS = "id, org_id, name, prefix, role, created_at, expires_at, revoked_at, last_used_at, user_id";

function toProto(r: KeyRow): ApiKey {
  return create(ApiKeySchema, {
    id: r.id,
    orgId: r.org_id,
    name: r.name,
    prefix: r.prefix,
    role: roleFromDb(r.role),
    ...optTs("createdAt", r.created_at),
    ...optTs("expiresAt", r.expires_at),
    ...optTs("revokedAt", r.revoked_at),
    ...optTs("lastUsedAt", r.last_used_at),
    ownerUserId: r.user_id ?? "",
  });
}

/** The audit view of a key: no hash, no key. */
const auditView = (r: KeyRow) => ({
  name: r.name,
  prefix: r.prefix,
  role: r.role,
  revoked: r.revoked_at !== null,
});

export interface NewKey {
  orgId: string;
  name: string;
  role: string;
  platformAdmin?: boolean;
  expiresAt?: Date | null;
  /** Use this key instead of generating one (bootstrap from LLM_GATEWAY_ADMIN_KEY). */
  key?: string;
  /** The user creating the key, when signed in with a session token. */
  ownerUserId?: string | null;
}

/** Inserts a key and returns the row and the full key (shown once). */
export async function insertApiKey(db: Queryable, k: NewKey): Promise<{ row: KeyRow; key: string }> {
  const key = k.key ?? generateApiKey();
  const { rows } = await db.query<KeyRow>(
    `INSERT INTO api_keys (id, org_id, name, prefix, key_hash, role, platform_admin, expires_at, user_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING ${COLUMNS}`,
    [
      randomUUID(),
      k.orgId,
      k.name,
      displayPrefix(key),
      hashApiKey(key),
      k.role,
      k.platformAdmin ?? false,
      k.expiresAt ?? null,
      k.ownerUserId ?? null,
    ],
  );
  return { row: rows[0] as KeyRow, key };
}

/**
 * Locks a key of the organization for a change. A platform-admin key can only
 * be changed by a platform admin, whatever the caller's role in its org.
 */
async function lockKey(
  tx: Tx,
  principal: Principal,
  orgId: string,
  id: string,
): Promise<{ row: KeyRow; platformAdmin: boolean }> {
  const { rows } = await tx.query<KeyRow & { platform_admin: boolean }>(
    `SELECT ${COLUMNS}, platform_admin FROM api_keys WHERE id = $1 AND org_id = $2 FOR UPDATE`,
    [id, orgId],
  );
  const row = rows[0];
  if (!row) throw notFound("API key");
  if (row.platform_admin && !principal.platformAdmin) {
    throw new ConnectError("only a platform admin can change a platform-admin key", Code.PermissionDenied);
  }
  return { row, platformAdmin: row.platform_admin };
}

export function createApiKeyService(deps: ServiceDeps): ServiceImpl<typeof ApiKeyService> {
  return {
    async createApiKey(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "api_keys.manage", orgId);
      const reason = requireReason(req.reason);
      const name = requireText(req.name, "name");
      const role = roleToDb(req.role);
      // Role enum values grow as privilege shrinks (OWNER = 1 … MEMBER = 5): no one mints a key above their own role.
      if (
        !principal.platformAdmin &&
        req.role < (principal.memberships.get(orgId) ?? Number.POSITIVE_INFINITY)
      ) {
        throw new ConnectError("cannot create a key with a role above your own", Code.PermissionDenied);
      }
      const expiresAt = req.expiresAt ? timestampDate(req.expiresAt) : null;
      if (expiresAt && expiresAt.getTime() <= Date.now()) {
        throw new ConnectError("expires_at must be in the future", Code.InvalidArgument);
      }
      const { row, key } = await commitChange(deps, "API key", async (tx) => {
        const created = await insertApiKey(tx, {
          orgId,
          name,
          role,
          expiresAt,
          ownerUserId: principal.kind === "user" ? principal.id : null,
        });
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "api_key.create",
          resourceType: "api_key",
          resourceId: created.row.id,
          after: auditView(created.row),
          reason,
        });
        await recordChanges(tx, [{ kind: "api_key", id: created.row.id }]);
        return created;
      });
      return { apiKey: toProto(row), key };
    },

    async listApiKeys(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "api_keys.read", orgId);
      const rows = await read(
        "API keys",
        async () =>
          (
            await deps.db.query<KeyRow>(
              `SELECT ${COLUMNS} FROM api_keys WHERE org_id = $1 ORDER BY created_at`,
              [orgId],
            )
          ).rows,
      );
      return { apiKeys: rows.map(toProto) };
    },

    async revokeApiKey(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      const id = requireUuid(req.id, "id");
      authorize(principal, "api_keys.manage", orgId);
      const reason = requireReason(req.reason);
      const row = await commitChange(deps, "API key", async (tx) => {
        const { row: before } = await lockKey(tx, principal, orgId, id);
        const after = (
          await tx.query<KeyRow>(
            `UPDATE api_keys SET revoked_at = coalesce(revoked_at, now()) WHERE id = $1 RETURNING ${COLUMNS}`,
            [id],
          )
        ).rows[0] as KeyRow;
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "api_key.revoke",
          resourceType: "api_key",
          resourceId: id,
          before: auditView(before),
          after: auditView(after),
          reason,
        });
        await recordChanges(tx, [{ kind: "api_key", id }]);
        return after;
      });
      return { apiKey: toProto(row) };
    },

    async rotateApiKey(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      const id = requireUuid(req.id, "id");
      authorize(principal, "api_keys.manage", orgId);
      const reason = requireReason(req.reason);
      requireGraceSeconds(req.graceSeconds);
      const result = await commitChange(deps, "API key", async (tx) => {
        const { row: old, platformAdmin } = await lockKey(tx, principal, orgId, id);
        if (old.revoked_at || (old.expires_at && old.expires_at.getTime() <= Date.now())) {
          throw new ConnectError(
            "the key is revoked or expired: create a new key instead",
            Code.FailedPrecondition,
          );
        }
        const created = await insertApiKey(tx, {
          orgId,
          name: old.name,
          role: old.role,
          platformAdmin,
          expiresAt: old.expires_at,
          ownerUserId: old.user_id,
        });
        const previous = await retireRotated<KeyRow>(tx, "api_keys", COLUMNS, id, req.graceSeconds);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "api_key.rotate",
          resourceType: "api_key",
          resourceId: id,
          before: auditView(old),
          after: { ...auditView(previous), replacedBy: created.row.id, graceSeconds: req.graceSeconds },
          reason,
        });
        await recordChanges(tx, [
          { kind: "api_key", id },
          { kind: "api_key", id: created.row.id },
        ]);
        return { created, previous };
      });
      return {
        apiKey: toProto(result.created.row),
        key: result.created.key,
        previous: toProto(result.previous),
      };
    },
  };
}
