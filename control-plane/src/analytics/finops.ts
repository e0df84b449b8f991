import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { type BudgetAction, PolicySchema } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { Queryable } from "../db/pool.js";
import {
  type BreakdownOrder,
  breakdown,
  type DimensionColumn,
  type Range,
  TOTALS,
  type Totals,
  type TotalsRow,
  toTotals,
  totals,
} from "./queries.js";

/** FinOps reads: every figure comes from the rollups (estimated) or actual_costs (billed), never raw events. */

/** Totals per organization across the platform, with its slug. */
export async function organizationBreakdown(
  db: Queryable,
  start: Date,
  end: Date,
  order: BreakdownOrder,
): Promise<Array<Totals & { key: string; label: string }>> {
  const orderBy = order === "cost" ? "cost_usd DESC, requests DESC" : "requests DESC";
  const { rows } = await db.query<TotalsRow & { key: string; label: string | null }>(
    `SELECT r.org_id::text AS key, o.slug AS label, ${TOTALS}
     FROM usage_rollup_minute r LEFT JOIN organizations o ON o.id = r.org_id
     WHERE r.minute >= $1 AND r.minute < $2 GROUP BY r.org_id, o.slug ORDER BY ${orderBy} LIMIT 1000`,
    [start, end],
  );
  return rows.map((row) => ({ key: row.key, label: row.label ?? "", ...toTotals(row) }));
}

/** Names of credentials or API keys by id, for breakdown labels. */
export async function labelsOf(
  db: Queryable,
  orgId: string,
  kind: "credential" | "api_key",
): Promise<Map<string, string>> {
  const table = kind === "credential" ? "credentials" : "api_keys";
  const { rows } = await db.query<{ id: string; name: string }>(
    `SELECT id, name FROM ${table} WHERE org_id = $1`,
    [orgId],
  );
  return new Map(rows.map((r) => [r.id, r.name]));
}

export interface GrowthRow {
  key: string;
  current: number;
  previous: number;
}

export type GrowthMetric = "cost" | "tokens" | "requests" | "errors";
const GROWTH_SQL: Record<GrowthMetric, string> = {
  cost: "cost_usd",
  tokens: "(prompt_tokens + completion_tokens)",
  requests: "requests",
  errors: "errors",
};
const growthValue = (t: Totals, m: GrowthMetric) =>
  m === "cost"
    ? t.costUsd
    : m === "tokens"
      ? t.promptTokens + t.completionTokens
      : m === "requests"
        ? t.requests
        : t.errors;

/**
 * A metric per value of a dimension in the range and in the equally long
 * period before it. Models and providers come from the minute rollup in one
 * query; credentials, keys and users from two breakdowns (hourly rollups plus
 * the edges), each capped at its 1000 largest values.
 */
export async function growth(
  db: Queryable,
  r: Range,
  metric: GrowthMetric,
  d: DimensionColumn,
): Promise<GrowthRow[]> {
  const previous: Range = {
    orgId: r.orgId,
    start: new Date(2 * r.start.getTime() - r.end.getTime()),
    end: r.start,
  };
  if (d === "model" || d === "provider") {
    const value = GROWTH_SQL[metric];
    const { rows } = await db.query<GrowthRow>(
      `SELECT ${d} AS key,
              coalesce(sum(${value}) FILTER (WHERE minute >= $3), 0)::float8 AS current,
              coalesce(sum(${value}) FILTER (WHERE minute < $3), 0)::float8 AS previous
       FROM usage_rollup_minute WHERE org_id = $1 AND minute >= $2 AND minute < $4 GROUP BY 1`,
      [r.orgId, previous.start, r.start, r.end],
    );
    return rows;
  }
  const order = metric === "cost" ? "cost" : "requests";
  const [now, before] = await Promise.all([breakdown(db, r, d, order), breakdown(db, previous, d, order)]);
  const rows = new Map<string, GrowthRow>();
  for (const t of now) rows.set(t.key, { key: t.key, current: growthValue(t, metric), previous: 0 });
  for (const t of before) {
    const row = rows.get(t.key) ?? { key: t.key, current: 0, previous: 0 };
    row.previous = growthValue(t, metric);
    rows.set(t.key, row);
  }
  return [...rows.values()];
}

export interface VarianceInput {
  /** Estimated per provider (all its traffic). */
  byProvider: Map<string, number>;
  /** Estimated per credential id. */
  byCredential: Map<string, number>;
  /** Actual per provider and credential id ("" = provider level). */
  actual: Array<{ provider: string; credentialId: string; amount: number }>;
  /** The organization's credentials. */
  credentials: Map<string, { provider: string; name: string }>;
}

const day = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const DAY = 86_400_000;

/** What GetCostVariance compares: estimates from the rollups, actual costs of the days the range covers. */
export async function varianceInput(db: Queryable, r: Range): Promise<VarianceInput> {
  const { rows: providers } = await db.query<{ provider: string; cost: number }>(
    `SELECT provider, coalesce(sum(cost_usd), 0)::float8 AS cost FROM usage_rollup_minute
     WHERE org_id = $1 AND minute >= $2 AND minute < $3 GROUP BY 1`,
    [r.orgId, r.start, r.end],
  );
  const perCredential = await breakdown(db, r, "credential");
  const { rows: actual } = await db.query<{ provider: string; credential_id: string | null; amount: number }>(
    `SELECT provider, credential_id, sum(amount_usd)::float8 AS amount FROM actual_costs
     WHERE org_id = $1 AND day >= $2 AND day < $3 GROUP BY 1, 2`,
    [r.orgId, day(Math.floor(r.start.getTime() / DAY) * DAY), day(Math.ceil(r.end.getTime() / DAY) * DAY)],
  );
  const { rows: creds } = await db.query<{ id: string; provider: string; name: string }>(
    "SELECT id, provider, name FROM credentials WHERE org_id = $1",
    [r.orgId],
  );
  return {
    byProvider: new Map(providers.map((p) => [p.provider, p.cost])),
    byCredential: new Map(perCredential.filter((c) => c.key).map((c) => [c.key, c.costUsd])),
    actual: actual.map((a) => ({
      provider: a.provider,
      credentialId: a.credential_id ?? "",
      amount: a.amount,
    })),
    credentials: new Map(creds.map((c) => [c.id, { provider: c.provider, name: c.name }])),
  };
}

export interface VarianceRow {
  provider: string;
  credentialId: string;
  label: string;
  estimated: number;
  actual: number;
  hasActual: boolean;
}

/**
 * Per provider: one row for the whole provider (all its estimated spend, all
 * its actual cost, credential-level or not), then one per credential with
 * estimated spend or credential-level actual cost. Credentials that no longer
 * exist count in their provider's row only.
 */
export function varianceRows(v: VarianceInput): VarianceRow[] {
  const providers = new Set([...v.byProvider.keys(), ...v.actual.map((a) => a.provider)]);
  const credentialIds = new Set([
    ...v.byCredential.keys(),
    ...v.actual.map((a) => a.credentialId).filter(Boolean),
  ]);
  const out: VarianceRow[] = [];
  for (const provider of [...providers].sort()) {
    const actual = v.actual.filter((a) => a.provider === provider);
    out.push({
      provider,
      credentialId: "",
      label: "",
      estimated: v.byProvider.get(provider) ?? 0,
      actual: actual.reduce((sum, a) => sum + a.amount, 0),
      hasActual: actual.length > 0,
    });
    const mine = [...credentialIds].filter((id) => v.credentials.get(id)?.provider === provider);
    for (const id of mine.sort((a, b) =>
      (v.credentials.get(a)?.name ?? "").localeCompare(v.credentials.get(b)?.name ?? ""),
    )) {
      const own = actual.filter((a) => a.credentialId === id);
      out.push({
        provider,
        credentialId: id,
        label: v.credentials.get(id)?.name ?? "",
        estimated: v.byCredential.get(id) ?? 0,
        actual: own.reduce((sum, a) => sum + a.amount, 0),
        hasActual: own.length > 0,
      });
    }
  }
  return out;
}

export interface BudgetRow {
  apiKeyId: string;
  label: string;
  budget: number;
  action: BudgetAction;
  spent: number;
}

/**
 * The organization's default policy budget against its whole spend, and each
 * key whose own policy sets a budget against that key's spend, over [start, end).
 */
export async function budgetRows(db: Queryable, r: Range): Promise<BudgetRow[]> {
  const { rows: policies } = await db.query<{ api_key_id: string | null; policy: JsonValue }>(
    "SELECT api_key_id, policy FROM policies WHERE org_id = $1",
    [r.orgId],
  );
  const empty = r.end <= r.start;
  const orgSpent = empty ? 0 : (await totals(db, r)).costUsd;
  const keySpent = empty
    ? new Map<string, number>()
    : new Map((await breakdown(db, r, "api_key")).map((k) => [k.key, k.costUsd]));
  const names = await labelsOf(db, r.orgId, "api_key");
  const rows: BudgetRow[] = [];
  const orgPolicy = policies.find((p) => p.api_key_id === null);
  const org = orgPolicy ? fromJson(PolicySchema, orgPolicy.policy) : undefined;
  rows.push({
    apiKeyId: "",
    label: "",
    budget: org?.monthlyBudgetUsd ?? 0,
    action: org?.budgetAction ?? 0,
    spent: orgSpent,
  });
  for (const p of policies) {
    if (p.api_key_id === null) continue;
    const policy = fromJson(PolicySchema, p.policy);
    if (!(policy.monthlyBudgetUsd > 0)) continue;
    rows.push({
      apiKeyId: p.api_key_id,
      label: names.get(p.api_key_id) ?? "",
      budget: policy.monthlyBudgetUsd,
      action: policy.budgetAction,
      spent: keySpent.get(p.api_key_id) ?? 0,
    });
  }
  return rows;
}
