import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import { findProvider } from "../../../lib/src/provider-catalog.js";
import type { ProviderSettings } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type Credential,
  CredentialSchema,
  type CredentialService,
} from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import { secretFingerprint, secretLast4 } from "../crypto/envelope.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs, type StoredSettings, settingsFromJson, settingsToJson } from "./mappers.js";
import { notFound, requireText, requireUuid } from "./validate.js";

interface CredentialRow {
  id: string;
  org_id: string;
  provider: string;
  name: string;
  secret_fingerprint: string;
  secret_last4: string;
  settings: StoredSettings;
  models: string[];
  weight: number;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  secret_rotated_at: Date;
}

const COLUMNS =
  "id, org_id, provider, name, secret_fingerprint, secret_last4, settings, models, weight, enabled, created_at, updated_at, secret_rotated_at";

function toProto(r: CredentialRow): Credential {
  return create(CredentialSchema, {
    id: r.id,
    orgId: r.org_id,
    provider: r.provider,
    name: r.name,
    settings: settingsFromJson(r.settings),
    models: r.models,
    weight: r.weight,
    enabled: r.enabled,
    secretFingerprint: r.secret_fingerprint,
    secretLast4: r.secret_last4,
    ...optTs("createdAt", r.created_at),
    ...optTs("updatedAt", r.updated_at),
    ...optTs("secretRotatedAt", r.secret_rotated_at),
  });
}

/** What the audit log keeps of a credential: never the secret, only its fingerprint. */
const auditView = (r: CredentialRow) => ({
  provider: r.provider,
  name: r.name,
  settings: r.settings,
  models: r.models,
  weight: r.weight,
  enabled: r.enabled,
  secretFingerprint: r.secret_fingerprint,
});

function validateSettings(provider: string, settings: ProviderSettings | undefined): StoredSettings {
  const stored = settingsToJson(settings);
  const info = findProvider(provider);
  if (!info) throw new ConnectError(`unsupported provider "${provider}"`, Code.InvalidArgument);
  if (stored.baseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(stored.baseUrl);
    } catch {
      throw new ConnectError("settings.base_url must be an absolute URL", Code.InvalidArgument);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ConnectError("settings.base_url must use http or https", Code.InvalidArgument);
    }
    if (url.username || url.password) {
      throw new ConnectError("settings.base_url must not contain credentials", Code.InvalidArgument);
    }
  } else if (!info.defaultBaseUrl) {
    throw new ConnectError(`provider "${provider}" needs settings.base_url`, Code.InvalidArgument);
  }
  return stored;
}

async function loadForUpdate(db: Queryable, orgId: string, id: string): Promise<CredentialRow> {
  const { rows } = await db.query<CredentialRow>(
    `SELECT ${COLUMNS} FROM credentials WHERE id = $1 AND org_id = $2 FOR UPDATE`,
    [id, orgId],
  );
  if (!rows[0]) throw notFound("credential");
  return rows[0];
}

export function createCredentialService(deps: ServiceDeps): ServiceImpl<typeof CredentialService> {
  async function setEnabled(
    req: { orgId: string; id: string; reason: string },
    ctx: HandlerContext,
    enabled: boolean,
  ): Promise<{ credential: Credential }> {
    const principal = requirePrincipal(ctx);
    const orgId = requireUuid(req.orgId, "org_id");
    const id = requireUuid(req.id, "id");
    authorize(principal, "credentials.manage", orgId);
    const reason = requireReason(req.reason);
    const row = await commitChange(deps, "credential", async (tx) => {
      const before = await loadForUpdate(tx, orgId, id);
      const after = (
        await tx.query<CredentialRow>(
          `UPDATE credentials SET enabled = $2, updated_at = now() WHERE id = $1 RETURNING ${COLUMNS}`,
          [id, enabled],
        )
      ).rows[0] as CredentialRow;
      await appendAudit(tx, {
        orgId,
        actor: actorOf(principal),
        action: enabled ? "credential.enable" : "credential.disable",
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
      const models = [...new Set(req.models.map((m) => m.trim()).filter(Boolean))];
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
          "SELECT model FROM routes WHERE org_id = $1 AND targets @> jsonb_build_array(jsonb_build_object('credentialId', $2::text))",
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
