import { randomUUID } from "node:crypto";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { findProvider } from "../../../lib/src/provider-catalog.js";
import type {
  Credential,
  CredentialService,
} from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import { secretFingerprint, secretLast4 } from "../crypto/envelope.js";
import type { Tx } from "../db/pool.js";
import {
  auditView,
  COLUMNS,
  type CredentialRow,
  loadForUpdate,
  toProto,
  validateSettings,
} from "./credential-rows.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { notFound, requireText, requireUuid } from "./validate.js";

const UPDATABLE = new Set(["name", "settings", "models", "weight"]);

const normalizeModels = (models: readonly string[]) => [
  ...new Set(models.map((m) => m.trim()).filter(Boolean)),
];

export function createCredentialService(deps: ServiceDeps): ServiceImpl<typeof CredentialService> {
  /**
   * One audited change to an existing credential: `apply` runs the UPDATE
   * (given the locked row before the change) and returns the row after it.
   */
  async function change<V>(
    req: { orgId: string; id: string; reason: string },
    ctx: HandlerContext,
    action: string,
    validate: () => V,
    apply: (tx: Tx, id: string, before: CredentialRow, input: V) => Promise<CredentialRow>,
  ): Promise<{ credential: Credential }> {
    const principal = requirePrincipal(ctx);
    const orgId = requireUuid(req.orgId, "org_id");
    const id = requireUuid(req.id, "id");
    authorize(principal, "credentials.manage", orgId);
    // Fields are checked only after authorization: callers without the permission learn nothing.
    const input = validate();
    const reason = requireReason(req.reason);
    const row = await commitChange(deps, "credential", async (tx) => {
      const before = await loadForUpdate(tx, orgId, id);
      const after = await apply(tx, id, before, input);
      await appendAudit(tx, {
        orgId,
        actor: actorOf(principal),
        action,
        resourceType: "credential",
        resourceId: id,
        before: auditView(before),
        after: auditView(after),
        reason,
      });
      await recordChanges(tx, [{ kind: "credential", id }]);
      return after;
    });
    return { credential: toProto(row) };
  }

  const update = async (tx: Tx, sql: string, params: unknown[]) =>
    (
      await tx.query<CredentialRow>(
        `UPDATE credentials SET ${sql}, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
        params,
      )
    ).rows[0] as CredentialRow;

  const setEnabled = (
    req: { orgId: string; id: string; reason: string },
    ctx: HandlerContext,
    enabled: boolean,
  ) =>
    change(
      req,
      ctx,
      enabled ? "credential.enable" : "credential.disable",
      () => undefined,
      (tx, id) => update(tx, "enabled = $2", [id, enabled]),
    );

  return {
    async createCredential(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "credentials.manage", orgId);
      const reason = requireReason(req.reason);
      const name = requireText(req.name, "name");
      const settings = validateSettings(req.provider, req.settings);
      const secret = req.secret.trim();
      if (!secret && !findProvider(req.provider)?.secretOptional) {
        throw new ConnectError("secret is required for this provider", Code.InvalidArgument);
      }
      const models = normalizeModels(req.models);
      const id = randomUUID();
      const envelope = deps.box.seal(secret, `${orgId}:${id}`);
      const row = await commitChange(deps, `credential "${name}"`, async (tx) => {
        const created = (
          await tx.query<CredentialRow>(
            `INSERT INTO credentials (id, org_id, provider, name, secret_envelope, secret_fingerprint, secret_last4, settings, models, weight)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING ${COLUMNS}`,
            [
              id,
              orgId,
              req.provider,
              name,
              envelope,
              secretFingerprint(secret),
              secretLast4(secret),
              settings,
              models,
              req.weight || 1,
            ],
          )
        ).rows[0] as CredentialRow;
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "credential.create",
          resourceType: "credential",
          resourceId: id,
          after: auditView(created),
          reason,
        });
        await recordChanges(tx, [{ kind: "credential", id }]);
        return created;
      });
      return { credential: toProto(row) };
    },

    async getCredential(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      const id = requireUuid(req.id, "id");
      authorize(principal, "credentials.read", orgId);
      const rows = await read(
        "credential",
        async () =>
          (
            await deps.db.query<CredentialRow>(
              `SELECT ${COLUMNS} FROM credentials WHERE id = $1 AND org_id = $2`,
              [id, orgId],
            )
          ).rows,
      );
      if (!rows[0]) throw notFound("credential");
      return { credential: toProto(rows[0]) };
    },

    async listCredentials(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "credentials.read", orgId);
      const rows = await read(
        "credentials",
        async () =>
          (
            await deps.db.query<CredentialRow>(
              `SELECT ${COLUMNS} FROM credentials WHERE org_id = $1 ORDER BY name`,
              [orgId],
            )
          ).rows,
      );
      return { credentials: rows.map(toProto) };
    },

    updateCredential(req, ctx) {
      const validate = () => {
        const paths = req.updateMask?.paths ?? [];
        if (paths.length === 0)
          throw new ConnectError("update_mask must name at least one field", Code.InvalidArgument);
        const unknown = paths.find((p) => !UPDATABLE.has(p));
        if (unknown) {
          throw new ConnectError(
            `update_mask: "${unknown}" cannot be updated (name, settings, models, weight)`,
            Code.InvalidArgument,
          );
        }
        if (paths.includes("weight") && req.weight > 1_000_000) {
          throw new ConnectError("weight must be at most 1000000", Code.InvalidArgument);
        }
        return {
          paths,
          name: paths.includes("name") ? requireText(req.name, "name") : null,
          models: paths.includes("models") ? normalizeModels(req.models) : null,
          weight: paths.includes("weight") ? req.weight : null,
        };
      };
      return change(req, ctx, "credential.update", validate, (tx, id, before, input) =>
        update(
          tx,
          "name = coalesce($2, name), settings = coalesce($3, settings), models = coalesce($4, models), weight = coalesce($5, weight)",
          [
            id,
            input.name,
            input.paths.includes("settings")
              ? JSON.stringify(validateSettings(before.provider, req.settings))
              : null,
            input.models,
            input.weight,
          ],
        ),
      );
    },

    rotateCredentialSecret(req, ctx) {
      const validate = () => {
        const secret = req.secret.trim();
        if (!secret) throw new ConnectError("secret is required", Code.InvalidArgument);
        return secret;
      };
      return change(req, ctx, "credential.rotate_secret", validate, (tx, id, before, secret) =>
        update(
          tx,
          "secret_envelope = $2, secret_fingerprint = $3, secret_last4 = $4, secret_rotated_at = now()",
          [
            id,
            deps.box.seal(secret, `${before.org_id}:${id}`),
            secretFingerprint(secret),
            secretLast4(secret),
          ],
        ),
      );
    },

    enableCredential: (req, ctx) => setEnabled(req, ctx, true),
    disableCredential: (req, ctx) => setEnabled(req, ctx, false),

    async deleteCredential(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      const id = requireUuid(req.id, "id");
      authorize(principal, "credentials.manage", orgId);
      const reason = requireReason(req.reason);
      await commitChange(deps, "credential", async (tx) => {
        const before = await loadForUpdate(tx, orgId, id);
        const used = await tx.query(
          `SELECT model FROM routes WHERE org_id = $1 AND (
             targets @> jsonb_build_array(jsonb_build_object('credentialId', $2::text))
             OR fallbacks @> jsonb_build_array(jsonb_build_object('targets',
                  jsonb_build_array(jsonb_build_object('credentialId', $2::text)))))`,
          [orgId, id],
        );
        if (used.rows.length > 0) {
          throw new ConnectError(
            `credential is a target of route(s) ${used.rows.map((r) => r.model).join(", ")}: change those routes first, or disable the credential`,
            Code.FailedPrecondition,
          );
        }
        await tx.query("DELETE FROM credentials WHERE id = $1", [id]);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "credential.delete",
          resourceType: "credential",
          resourceId: id,
          before: auditView(before),
          reason,
        });
        await recordChanges(tx, [{ kind: "credential", id }]);
      });
      return {};
    },
  };
}
