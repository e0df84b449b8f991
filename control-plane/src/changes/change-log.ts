import type { Queryable, Tx } from "../db/pool.js";

/** The entity kinds the routing table is built from. */
export type EntityKind =
  | "organization"
  | "api_key"
  | "credential"
  | "route"
  | "metrics_token"
  | "policy"
  | "membership"
  | "price_override"
  | "actual_cost";

export interface EntityRef {
  kind: EntityKind;
  id: string;
}

/**
 * Records that entities changed, inside the caller's transaction, and returns
 * the new routing-table version. Incrementing the single config_state row
 * takes its row lock until commit, so versions become visible in order.
 */
export async function recordChanges(tx: Tx, refs: readonly EntityRef[]): Promise<number> {
  const { rows } = await tx.query<{ version: number }>(
    "UPDATE config_state SET version = version + 1 RETURNING version",
  );
  const version = rows[0]?.version;
  if (version === undefined) throw new Error("config_state row missing: migrations not applied");
  if (refs.length > 0) {
    await tx.query(
      `INSERT INTO config_changes (version, kind, entity_id)
       SELECT $1, kind, id FROM unnest($2::text[], $3::uuid[]) AS t(kind, id) ON CONFLICT DO NOTHING`,
      [version, refs.map((r) => r.kind), refs.map((r) => r.id)],
    );
  }
  return version;
}

export async function currentVersion(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ version: number }>("SELECT version FROM config_state");
  return rows[0]?.version ?? 0;
}

/** Oldest version a delta can start from; older workers get a snapshot. */
export async function oldestDeltaBase(db: Queryable): Promise<number> {
  const { rows } = await db.query<{ v: number | null }>("SELECT min(version) - 1 AS v FROM config_changes");
  return rows[0]?.v ?? 0;
}
