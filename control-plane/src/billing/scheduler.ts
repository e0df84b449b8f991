import { recordChanges } from "../changes/change-log.js";
import { withTransaction } from "../db/pool.js";
import type { ServiceDeps } from "../services/deps.js";
import { type IntegrationRow, orgsWithActualCosts, rebuildActualCostTotals } from "./store.js";
import { defaultSyncRange, runBillingSync } from "./sync.js";

/** Session advisory lock held by the replica that runs a periodic sync; any constant shared by all replicas. */
export const BILLING_SYNC_LOCK_ID = 7_401_122_020;
export const SYNC_ACTOR = "system:billing-sync";

export interface SyncRound {
  /** False when another replica held the lock: this one did nothing. */
  ran: boolean;
  synced: number;
  failed: number;
}

/**
 * One periodic round, on the replica that gets the advisory lock (the others
 * return at once): syncs every integration not synced within half the
 * interval (a replica that just took over does not repeat a sync), over the
 * previous month to today, then rebuilds the month totals of every
 * organization with actual costs (a new month moves periods even without new costs).
 */
export async function runSyncRound(
  deps: ServiceDeps,
  intervalMinutes: number,
  fetchImpl?: typeof fetch,
): Promise<SyncRound> {
  const client = await deps.db.connect();
  try {
    const { rows } = await client.query<{ locked: boolean }>("SELECT pg_try_advisory_lock($1) AS locked", [
      BILLING_SYNC_LOCK_ID,
    ]);
    if (!rows[0]?.locked) return { ran: false, synced: 0, failed: 0 };
    try {
      const due = (
        await client.query<IntegrationRow>(
          `SELECT * FROM billing_integrations
           WHERE last_sync_at IS NULL OR last_sync_at < now() - make_interval(secs => $1) ORDER BY org_id, provider`,
          [intervalMinutes * 30],
        )
      ).rows;
      let synced = 0;
      let failed = 0;
      const reason = `automatic: periodic billing sync every ${intervalMinutes} minutes`;
      for (const row of due) {
        try {
          await runBillingSync(deps, row, defaultSyncRange(), { actor: SYNC_ACTOR, reason }, fetchImpl);
          synced++;
        } catch (err) {
          failed++;
          deps.log.warn(
            { provider: row.provider, orgId: row.org_id, error: (err as Error).message },
            "billing sync failed",
          );
        }
      }
      for (const orgId of await orgsWithActualCosts(deps.db)) {
        await withTransaction(deps.db, async (tx) => {
          const changed = await rebuildActualCostTotals(tx, orgId);
          if (changed.length > 0) await recordChanges(tx, changed);
        });
      }
      deps.feed.notify();
      return { ran: true, synced, failed };
    } finally {
      await client.query("SELECT pg_advisory_unlock($1)", [BILLING_SYNC_LOCK_ID]).catch(() => undefined);
    }
  } finally {
    client.release();
  }
}

/**
 * Runs a round shortly after start and then every `minutes`
 * (LLM_GATEWAY_BILLING_SYNC_MINUTES; 0 = off). Rounds never overlap.
 */
export function startBillingSync(
  deps: ServiceDeps,
  minutes: number,
  firstDelayMs = 10_000,
): { close(): Promise<void> } {
  if (minutes <= 0) return { close: async () => undefined };
  let running: Promise<void> | undefined;
  const tick = () => {
    if (running) return;
    running = runSyncRound(deps, minutes)
      .then(() => undefined)
      .catch((err: unknown) => deps.log.error({ error: (err as Error).message }, "billing sync round failed"))
      .finally(() => {
        running = undefined;
      });
  };
  const first = setTimeout(tick, firstDelayMs);
  const timer = setInterval(tick, minutes * 60_000);
  first.unref();
  timer.unref();
  return {
    async close() {
      clearTimeout(first);
      clearInterval(timer);
      await running;
    },
  };
}
