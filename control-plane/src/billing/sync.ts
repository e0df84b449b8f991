import { Code, ConnectError } from "@connectrpc/connect";
import { appendAudit } from "../audit/audit-log.js";
import { recordChanges } from "../changes/change-log.js";
import { commitChange, type ServiceDeps } from "../services/deps.js";
import { fetchAnthropicCostReport } from "./anthropic-cost-report.js";
import { fetchOpenAiCosts } from "./openai-costs.js";
import { BillingSyncError, type DailyCost, type ReportRequest } from "./report.js";
import {
  type CostSource,
  type IntegrationRow,
  keyAad,
  monthStart,
  rebuildActualCostTotals,
  upsertCosts,
} from "./store.js";

const CLIENTS: Record<
  IntegrationRow["provider"],
  { source: CostSource; fetch: (r: ReportRequest) => Promise<DailyCost[]> }
> = {
  openai: { source: "openai-costs", fetch: fetchOpenAiCosts },
  anthropic: { source: "anthropic-cost-report", fetch: fetchAnthropicCostReport },
};

export interface SyncRange {
  /** "YYYY-MM-DD", inclusive. */
  start: string;
  /** "YYYY-MM-DD", exclusive. */
  end: string;
}

/** The default window: the previous month (late adjustments) through today. */
export function defaultSyncRange(now = new Date()): SyncRange {
  const tomorrow = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1));
  return { start: monthStart(now, -1).toISOString().slice(0, 10), end: tomorrow.toISOString().slice(0, 10) };
}

export interface SyncResult {
  days: number;
  totalUsd: number;
  row: IntegrationRow;
}

/**
 * Fetches the integration's cost report (no transaction is open meanwhile),
 * then stores it in one transaction: the daily costs (provider level), the
 * integration's sync status, an audit row, and the rebuilt month totals with
 * their change-log entry. A failed fetch is recorded (status, error, audit)
 * and thrown as Unavailable; the admin key never appears in either.
 */
export async function runBillingSync(
  deps: ServiceDeps,
  row: IntegrationRow,
  range: SyncRange,
  who: { actor: string; reason: string },
  fetchImpl?: typeof fetch,
): Promise<SyncResult> {
  const client = CLIENTS[row.provider];
  const adminKey = deps.box.open(row.admin_key_envelope, keyAad(row));
  let costs: DailyCost[];
  try {
    costs = await client.fetch({
      baseUrl: row.base_url,
      adminKey,
      ...range,
      ...(fetchImpl ? { fetch: fetchImpl } : {}),
    });
  } catch (err) {
    const message = err instanceof BillingSyncError ? err.message : "internal error while reading the report";
    if (!(err instanceof BillingSyncError))
      deps.log.error({ err: (err as Error).message }, "billing sync failed");
    await commitChange(deps, "billing integration", async (tx) => {
      await tx.query(
        "UPDATE billing_integrations SET last_sync_at = now(), last_sync_status = 'error', last_sync_error = $2 WHERE id = $1",
        [row.id, message],
      );
      await appendAudit(tx, {
        orgId: row.org_id,
        actor: who.actor,
        action: "billing.sync_failed",
        resourceType: "billing_integration",
        resourceId: row.provider,
        after: { ...range, error: message },
        reason: who.reason,
      });
    });
    throw new ConnectError(`billing sync failed: ${message}`, Code.Unavailable);
  }
  return commitChange(deps, "billing sync", async (tx) => {
    const totalUsd = await upsertCosts(
      tx,
      row.org_id,
      client.source,
      costs.map((c) => ({
        provider: row.provider,
        credentialId: null,
        day: c.day,
        amountUsd: c.amountUsd,
        currency: "USD",
      })),
    );
    const after = (
      await tx.query<IntegrationRow>(
        `UPDATE billing_integrations SET last_sync_at = now(), last_sync_status = 'ok', last_sync_error = ''
         WHERE id = $1 RETURNING *`,
        [row.id],
      )
    ).rows[0];
    await appendAudit(tx, {
      orgId: row.org_id,
      actor: who.actor,
      action: "billing.sync",
      resourceType: "billing_integration",
      resourceId: row.provider,
      after: { ...range, days: costs.length, totalUsd },
      reason: who.reason,
    });
    const changed = await rebuildActualCostTotals(tx, row.org_id);
    if (changed.length > 0) await recordChanges(tx, changed);
    return { days: costs.length, totalUsd, row: after ?? row };
  });
}
