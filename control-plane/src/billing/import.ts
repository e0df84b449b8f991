import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError } from "@connectrpc/connect";
import { type ActualCost, ActualCostSchema } from "../../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { appendAudit } from "../audit/audit-log.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "../services/deps.js";
import { parseCostCsv } from "./csv.js";
import { rebuildActualCostTotals, upsertCosts } from "./store.js";

/**
 * Imports a CSV of daily costs (source "csv"): validates every line first
 * (credential names must be the organization's credentials of that provider),
 * then stores them, audits the import and rebuilds the month totals in one
 * transaction. Re-importing a line replaces its amount.
 */
export async function importCsv(
  deps: ServiceDeps,
  orgId: string,
  csv: string,
  who: { actor: string; reason: string },
): Promise<{ rows: number; totalUsd: number }> {
  const lines = parseCostCsv(csv);
  const credentials = await read("credentials", async () => {
    const sql = "SELECT id, name, provider FROM credentials WHERE org_id = $1";
    return (await deps.db.query<{ id: string; name: string; provider: string }>(sql, [orgId])).rows;
  });
  const byName = new Map(credentials.map((c) => [c.name, c]));
  const rows = lines.map((l) => {
    let credentialId: string | null = null;
    if (l.credential) {
      const c = byName.get(l.credential);
      if (!c)
        throw new ConnectError(
          `csv line ${l.line}: credential "${l.credential}" not found`,
          Code.InvalidArgument,
        );
      if (c.provider !== l.provider) {
        throw new ConnectError(
          `csv line ${l.line}: credential "${l.credential}" belongs to provider ${c.provider}, not ${l.provider}`,
          Code.InvalidArgument,
        );
      }
      credentialId = c.id;
    }
    return { provider: l.provider, credentialId, day: l.day, amountUsd: l.amountUsd, currency: l.currency };
  });
  const days = rows.map((r) => r.day).sort();
  return commitChange(deps, "actual costs", async (tx) => {
    const totalUsd = await upsertCosts(tx, orgId, "csv", rows);
    await appendAudit(tx, {
      orgId,
      actor: who.actor,
      action: "actual_costs.import",
      resourceType: "actual_costs",
      resourceId: "csv",
      after: { rows: rows.length, totalUsd, firstDay: days[0], lastDay: days.at(-1) },
      reason: who.reason,
    });
    const changed = await rebuildActualCostTotals(tx, orgId);
    if (changed.length > 0) await recordChanges(tx, changed);
    return { rows: rows.length, totalUsd };
  });
}

/** Stored daily costs in [start, end), by day, provider, credential and source. */
export async function listActualCosts(
  db: Queryable,
  orgId: string,
  start: string,
  end: string,
): Promise<ActualCost[]> {
  const { rows } = await db.query<{
    provider: string;
    credential_id: string | null;
    day: string;
    amount_usd: number;
    currency: string;
    source: string;
    imported_at: Date;
  }>(
    `SELECT provider, credential_id, day, amount_usd::float8 AS amount_usd, currency, source, imported_at
     FROM actual_costs WHERE org_id = $1 AND day >= $2 AND day < $3
     ORDER BY day, provider, credential_id NULLS FIRST, source LIMIT 100000`,
    [orgId, start, end],
  );
  return rows.map((r) =>
    create(ActualCostSchema, {
      provider: r.provider,
      credentialId: r.credential_id ?? "",
      day: r.day,
      amountUsd: r.amount_usd,
      currency: r.currency,
      source: r.source,
      importedAt: timestampFromDate(r.imported_at),
    }),
  );
}
