import { randomUUID } from "node:crypto";
import type { EntityRef } from "../changes/change-log.js";
import type { Queryable, Tx } from "../db/pool.js";

export type CostSource = "openai-costs" | "anthropic-cost-report" | "csv";

/** A billing_integrations row. */
export interface IntegrationRow {
  id: string;
  org_id: string;
  provider: "openai" | "anthropic";
  base_url: string;
  admin_key_envelope: Buffer;
  admin_key_fingerprint: string;
  admin_key_last4: string;
  last_sync_at: Date | null;
  last_sync_status: string;
  last_sync_error: string;
  created_at: Date;
  updated_at: Date;
}

/** What an audit row may show of an integration: never the key, only its fingerprint. */
export const integrationView = (r: IntegrationRow) => ({
  provider: r.provider,
  baseUrl: r.base_url,
  adminKeyFingerprint: r.admin_key_fingerprint,
  adminKeyLast4: r.admin_key_last4,
});

/** Associated data of an admin key's envelope: bound to its row like credential secrets. */
export const keyAad = (r: Pick<IntegrationRow, "org_id" | "id">) => `${r.org_id}:${r.id}`;

export interface CostRow {
  provider: string;
  credentialId: string | null;
  day: string;
  amountUsd: string;
  currency: string;
}

/** Stores daily costs, replacing what the same source stored for the same key. Returns the USD total written. */
export async function upsertCosts(
  tx: Tx,
  orgId: string,
  source: CostSource,
  rows: readonly CostRow[],
): Promise<number> {
  if (rows.length === 0) return 0;
  const { rows: out } = await tx.query<{ total: number | null }>(
    `WITH ins AS (
       INSERT INTO actual_costs (org_id, provider, credential_id, day, amount_usd, currency, source)
       SELECT $1, p, c, d, a, cur, $7 FROM unnest($2::text[], $3::uuid[], $4::date[], $5::numeric[], $6::text[])
         AS t(p, c, d, a, cur)
       ON CONFLICT (org_id, provider, coalesce(credential_id, '00000000-0000-0000-0000-000000000000'::uuid), day, source)
       DO UPDATE SET amount_usd = EXCLUDED.amount_usd, currency = EXCLUDED.currency, imported_at = now()
       RETURNING amount_usd
     ) SELECT sum(amount_usd)::float8 AS total FROM ins`,
    [
      orgId,
      rows.map((r) => r.provider),
      rows.map((r) => r.credentialId),
      rows.map((r) => r.day),
      rows.map((r) => r.amountUsd),
      rows.map((r) => r.currency),
      source,
    ],
  );
  return out[0]?.total ?? 0;
}

/** "YYYY-MM" of a date (UTC) and the first day of that month, moved by `months`. */
export function monthStart(d: Date, months = 0): Date {
  return new Date(Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + months, 1));
}
const iso = (d: Date) => d.toISOString().slice(0, 10);

/**
 * Rebuilds the organization's published month totals (actual_cost_totals: the
 * current month to date and the previous month, per provider and credential)
 * from actual_costs, and returns the entries that changed, for the routing
 * table's change log. Serialized per organization by an advisory lock.
 */
export async function rebuildActualCostTotals(tx: Tx, orgId: string, now = new Date()): Promise<EntityRef[]> {
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('actual-cost-totals:' || $1))", [orgId]);
  const { rows: want } = await tx.query<{
    provider: string;
    credential_id: string | null;
    period: string;
    amount: number;
  }>(
    `SELECT provider, credential_id, to_char(day, 'YYYY-MM') AS period, sum(amount_usd)::float8 AS amount
     FROM actual_costs WHERE org_id = $1 AND day >= $2 AND day < $3 GROUP BY 1, 2, 3`,
    [orgId, iso(monthStart(now, -1)), iso(monthStart(now, 1))],
  );
  const { rows: have } = await tx.query<{
    id: string;
    provider: string;
    credential_id: string | null;
    period: string;
    amount_usd: number;
  }>("SELECT id, provider, credential_id, period, amount_usd FROM actual_cost_totals WHERE org_id = $1", [
    orgId,
  ]);
  const keyOf = (r: { provider: string; credential_id: string | null; period: string }) =>
    `${r.provider}\u0000${r.credential_id ?? ""}\u0000${r.period}`;
  const existing = new Map(have.map((r) => [keyOf(r), r]));
  const changed: EntityRef[] = [];
  for (const w of want) {
    const old = existing.get(keyOf(w));
    existing.delete(keyOf(w));
    if (old && old.amount_usd === w.amount) continue;
    const id = old?.id ?? randomUUID();
    await tx.query(
      `INSERT INTO actual_cost_totals (id, org_id, provider, credential_id, period, amount_usd)
       VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (id) DO UPDATE SET amount_usd = EXCLUDED.amount_usd`,
      [id, orgId, w.provider, w.credential_id, w.period, w.amount],
    );
    changed.push({ kind: "actual_cost", id });
  }
  const stale = [...existing.values()].map((r) => r.id);
  if (stale.length > 0) {
    await tx.query("DELETE FROM actual_cost_totals WHERE id = ANY($1::uuid[])", [stale]);
    for (const id of stale) changed.push({ kind: "actual_cost", id });
  }
  return changed;
}

/** Organizations with published totals or costs since the previous month: the ones a rollover can change. */
export async function orgsWithActualCosts(db: Queryable, now = new Date()): Promise<string[]> {
  const { rows } = await db.query<{ org_id: string }>(
    `SELECT org_id FROM actual_cost_totals UNION SELECT DISTINCT org_id FROM actual_costs WHERE day >= $1`,
    [iso(monthStart(now, -1))],
  );
  return rows.map((r) => r.org_id);
}
