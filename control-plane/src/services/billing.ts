import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type BillingIntegration,
  BillingIntegrationSchema,
  type BillingService,
} from "../../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize, type Permission } from "../auth/authorize.js";
import { actorOf, type Principal, requirePrincipal } from "../auth/principal.js";
import { ANTHROPIC_BILLING_BASE_URL } from "../billing/anthropic-cost-report.js";
import { isDate } from "../billing/csv.js";
import { importCsv, listActualCosts } from "../billing/import.js";
import { OPENAI_BILLING_BASE_URL } from "../billing/openai-costs.js";
import { type IntegrationRow, integrationView, keyAad } from "../billing/store.js";
import { defaultSyncRange, runBillingSync, type SyncRange } from "../billing/sync.js";
import { secretFingerprint, secretLast4 } from "../crypto/envelope.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { notFound, requireUuid } from "./validate.js";

const DEFAULT_BASE_URL: Record<IntegrationRow["provider"], string> = {
  openai: OPENAI_BILLING_BASE_URL,
  anthropic: ANTHROPIC_BILLING_BASE_URL,
};
const MAX_SYNC_DAYS = 366;
const DAY_MS = 86_400_000;

function toProto(r: IntegrationRow): BillingIntegration {
  return create(BillingIntegrationSchema, {
    orgId: r.org_id,
    provider: r.provider,
    baseUrl: r.base_url,
    adminKeyFingerprint: r.admin_key_fingerprint,
    adminKeyLast4: r.admin_key_last4,
    lastSyncStatus: r.last_sync_status,
    lastSyncError: r.last_sync_error,
    ...optTs("lastSyncAt", r.last_sync_at),
    ...optTs("createdAt", r.created_at),
    ...optTs("updatedAt", r.updated_at),
  });
}

function requireBillingProvider(value: string): IntegrationRow["provider"] {
  if (value === "openai" || value === "anthropic") return value;
  throw new ConnectError('provider must be "openai" or "anthropic"', Code.InvalidArgument);
}

function requireBaseUrl(value: string, provider: IntegrationRow["provider"]): string {
  const raw = value.trim() || DEFAULT_BASE_URL[provider];
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new ConnectError("base_url must be an absolute URL", Code.InvalidArgument);
  }
  if (url.protocol !== "https:" && url.protocol !== "http:")
    throw new ConnectError("base_url must use http or https", Code.InvalidArgument);
  if (url.username || url.password || url.search || url.hash)
    throw new ConnectError(
      "base_url must not contain credentials, a query or a fragment",
      Code.InvalidArgument,
    );
  return raw.replace(/\/+$/, "");
}

/** The sync window of a request: both dates optional, start inclusive, end exclusive. */
function syncRange(req: { startDate: string; endDate: string }): SyncRange {
  const fallback = defaultSyncRange();
  const range = { start: req.startDate || fallback.start, end: req.endDate || fallback.end };
  if (!isDate(range.start) || !isDate(range.end))
    throw new ConnectError("start_date and end_date must be dates YYYY-MM-DD", Code.InvalidArgument);
  const days = (Date.parse(range.end) - Date.parse(range.start)) / DAY_MS;
  if (days <= 0) throw new ConnectError("end_date must be after start_date", Code.InvalidArgument);
  if (days > MAX_SYNC_DAYS)
    throw new ConnectError(`at most ${MAX_SYNC_DAYS} days per sync`, Code.InvalidArgument);
  return range;
}

export interface BillingServiceOptions {
  /** The HTTP client billing syncs use (tests inject one; default: global fetch). */
  fetch?: typeof fetch;
}

export function createBillingService(
  deps: ServiceDeps,
  options: BillingServiceOptions = {},
): ServiceImpl<typeof BillingService> {
  function scope(req: { orgId: string }, ctx: HandlerContext, permission: Permission) {
    const principal = requirePrincipal(ctx);
    const orgId = requireUuid(req.orgId, "org_id");
    authorize(principal, permission, orgId);
    return { principal, orgId };
  }

  const load = async (orgId: string, provider: string) =>
    (
      await deps.db.query<IntegrationRow>(
        "SELECT * FROM billing_integrations WHERE org_id = $1 AND provider = $2",
        [orgId, provider],
      )
    ).rows[0];

  async function put(
    principal: Principal,
    orgId: string,
    provider: IntegrationRow["provider"],
    baseUrl: string,
    adminKey: string,
    reason: string,
  ) {
    return commitChange(deps, "billing integration", async (tx) => {
      const before = (
        await tx.query<IntegrationRow>(
          "SELECT * FROM billing_integrations WHERE org_id = $1 AND provider = $2 FOR UPDATE",
          [orgId, provider],
        )
      ).rows[0];
      if (!before && !adminKey)
        throw new ConnectError("admin_key is required to create an integration", Code.InvalidArgument);
      const id = before?.id ?? randomUUID();
      const key = adminKey
        ? [
            deps.box.seal(adminKey, keyAad({ org_id: orgId, id })),
            secretFingerprint(adminKey),
            secretLast4(adminKey),
          ]
        : [before?.admin_key_envelope, before?.admin_key_fingerprint, before?.admin_key_last4];
      const after = (
        await tx.query<IntegrationRow>(
          `INSERT INTO billing_integrations (id, org_id, provider, base_url, admin_key_envelope, admin_key_fingerprint, admin_key_last4)
           VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (org_id, provider) DO UPDATE SET base_url = EXCLUDED.base_url,
             admin_key_envelope = EXCLUDED.admin_key_envelope, admin_key_fingerprint = EXCLUDED.admin_key_fingerprint,
             admin_key_last4 = EXCLUDED.admin_key_last4, updated_at = now()
           RETURNING *`,
          [id, orgId, provider, baseUrl, ...key],
        )
      ).rows[0] as IntegrationRow;
      await appendAudit(tx, {
        orgId,
        actor: actorOf(principal),
        action: before ? "billing_integration.update" : "billing_integration.create",
        resourceType: "billing_integration",
        resourceId: provider,
        before: before ? integrationView(before) : undefined,
        after: integrationView(after),
        reason,
      });
      return after;
    });
  }

  return {
    async putBillingIntegration(req, ctx) {
      const { principal, orgId } = scope(req, ctx, "billing.manage");
      const provider = requireBillingProvider(req.provider);
      const baseUrl = requireBaseUrl(req.baseUrl, provider);
      const adminKey = req.adminKey.trim();
      if (adminKey.length > 4096) throw new ConnectError("admin_key is too long", Code.InvalidArgument);
      const reason = requireReason(req.reason);
      return { integration: toProto(await put(principal, orgId, provider, baseUrl, adminKey, reason)) };
    },

    async listBillingIntegrations(req, ctx) {
      const { orgId } = scope(req, ctx, "billing.read");
      const rows = await read("billing integrations", async () => {
        const sql = "SELECT * FROM billing_integrations WHERE org_id = $1 ORDER BY provider";
        return (await deps.db.query<IntegrationRow>(sql, [orgId])).rows;
      });
      return { integrations: rows.map(toProto) };
    },

    async deleteBillingIntegration(req, ctx) {
      const { principal, orgId } = scope(req, ctx, "billing.manage");
      const provider = requireBillingProvider(req.provider);
      const reason = requireReason(req.reason);
      await commitChange(deps, "billing integration", async (tx) => {
        const sql = "DELETE FROM billing_integrations WHERE org_id = $1 AND provider = $2 RETURNING *";
        const removed = (await tx.query<IntegrationRow>(sql, [orgId, provider])).rows[0];
        if (!removed) throw notFound("billing integration");
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "billing_integration.delete",
          resourceType: "billing_integration",
          resourceId: provider,
          before: integrationView(removed),
          reason,
        });
      });
      return {};
    },

    async syncBilling(req, ctx) {
      const { principal, orgId } = scope(req, ctx, "billing.manage");
      const provider = requireBillingProvider(req.provider);
      const range = syncRange(req);
      const reason = requireReason(req.reason);
      const row = await read("billing integration", () => load(orgId, provider));
      if (!row) throw notFound("billing integration");
      const who = { actor: actorOf(principal), reason };
      const result = await runBillingSync(deps, row, range, who, options.fetch);
      return { days: result.days, totalUsd: result.totalUsd, integration: toProto(result.row) };
    },

    async importActualCosts(req, ctx) {
      const { principal, orgId } = scope(req, ctx, "billing.manage");
      if (!req.csv.trim()) throw new ConnectError("csv is required", Code.InvalidArgument);
      if (req.csv.length > 5_000_000) throw new ConnectError("csv is larger than 5 MB", Code.InvalidArgument);
      const reason = requireReason(req.reason);
      return importCsv(deps, orgId, req.csv, { actor: actorOf(principal), reason });
    },

    async listActualCosts(req, ctx) {
      const { orgId } = scope(req, ctx, "billing.read");
      const fallback = defaultSyncRange();
      const start = req.startDate || fallback.start;
      const end = req.endDate || fallback.end;
      if (!isDate(start) || !isDate(end))
        throw new ConnectError("start_date and end_date must be dates YYYY-MM-DD", Code.InvalidArgument);
      const days = (Date.parse(end) - Date.parse(start)) / DAY_MS;
      if (days <= 0 || days > 400)
        throw new ConnectError(
          "end_date must be after start_date, at most 400 days later",
          Code.InvalidArgument,
        );
      return { costs: await read("actual costs", () => listActualCosts(deps.db, orgId, start, end)) };
    },
  };
}
