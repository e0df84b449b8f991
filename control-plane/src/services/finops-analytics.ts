import { timestampDate, timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type AnalyticsService,
  BreakdownOrder,
  Dimension,
  Metric,
  type TimeRange,
} from "../../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import {
  budgetRows,
  type GrowthMetric,
  growth,
  organizationBreakdown,
  varianceInput,
  varianceRows,
} from "../analytics/finops.js";
import type { DimensionColumn, BreakdownOrder as Order, Range, Totals } from "../analytics/queries.js";
import { authorize } from "../auth/authorize.js";
import { requirePrincipal } from "../auth/principal.js";
import { monthStart } from "../billing/store.js";
import { read, type ServiceDeps } from "./deps.js";
import { requireUuid } from "./validate.js";

const MAX_RANGE_MS = 90 * 24 * 3600 * 1000;

/** A validated time range: both bounds, end after start, at most 90 days. */
export function parseRange(range: TimeRange | undefined): { start: Date; end: Date } {
  if (!range?.startTime || !range.endTime) {
    throw new ConnectError("range.start_time and range.end_time are required", Code.InvalidArgument);
  }
  const start = timestampDate(range.startTime);
  const end = timestampDate(range.endTime);
  if (end <= start)
    throw new ConnectError("range.end_time must be after range.start_time", Code.InvalidArgument);
  if (end.getTime() - start.getTime() > MAX_RANGE_MS) {
    throw new ConnectError("range is longer than 90 days", Code.InvalidArgument);
  }
  return { start, end };
}

/** Authorizes analytics.read in the request's organization, then validates its range. */
export function orgRange(orgId: string, range: TimeRange | undefined, ctx: HandlerContext): Range {
  const principal = requirePrincipal(ctx);
  const id = requireUuid(orgId, "org_id");
  authorize(principal, "analytics.read", id);
  return { orgId: id, ...parseRange(range) };
}

export const orderOf = (o: BreakdownOrder): Order =>
  o === BreakdownOrder.ESTIMATED_COST ? "cost" : "requests";

/** A BreakdownRow's fields from rollup totals. */
export const breakdownRow = (row: Totals & { key: string }, label = "") => ({
  key: row.key,
  label,
  requests: BigInt(row.requests),
  errors: BigInt(row.errors),
  promptTokens: BigInt(row.promptTokens),
  completionTokens: BigInt(row.completionTokens),
  cachedTokens: BigInt(row.cachedTokens),
  latencyMeanMs: row.requests ? row.durationMsSum / row.requests : 0,
  estimatedCostUsd: row.costUsd,
});

const GROWTH_METRICS: Partial<Record<Metric, GrowthMetric>> = {
  [Metric.ESTIMATED_COST_USD]: "cost",
  [Metric.TOKENS]: "tokens",
  [Metric.REQUESTS]: "requests",
  [Metric.ERRORS]: "errors",
};
const GROWTH_DIMENSIONS: Partial<Record<Dimension, DimensionColumn>> = {
  [Dimension.MODEL]: "model",
  [Dimension.PROVIDER]: "provider",
  [Dimension.CREDENTIAL]: "credential",
  [Dimension.API_KEY]: "api_key",
  [Dimension.USER]: "user",
};

const percent = (part: number, whole: number) => (whole ? (part / whole) * 100 : 0);

type FinopsMethods = Pick<
  ServiceImpl<typeof AnalyticsService>,
  "getOrganizationBreakdown" | "getTopGrowth" | "getCostVariance" | "getBudgetStatus"
>;

/** The FinOps reads of AnalyticsService. */
export function createFinopsAnalytics(deps: ServiceDeps): FinopsMethods {
  const { db } = deps;
  return {
    async getOrganizationBreakdown(req, ctx) {
      authorize(requirePrincipal(ctx), "analytics.platform");
      const { start, end } = parseRange(req.range);
      const rows = await read("breakdown", () => organizationBreakdown(db, start, end, orderOf(req.orderBy)));
      return { rows: rows.map((row) => breakdownRow(row, row.label)) };
    },

    async getTopGrowth(req, ctx) {
      const r = orgRange(req.orgId, req.range, ctx);
      const metric =
        GROWTH_METRICS[req.metric === Metric.UNSPECIFIED ? Metric.ESTIMATED_COST_USD : req.metric];
      if (!metric)
        throw new ConnectError(
          "metric must be ESTIMATED_COST_USD, TOKENS, REQUESTS or ERRORS",
          Code.InvalidArgument,
        );
      const column =
        GROWTH_DIMENSIONS[req.dimension === Dimension.UNSPECIFIED ? Dimension.MODEL : req.dimension];
      if (!column) throw new ConnectError("dimension must be set to a known dimension", Code.InvalidArgument);
      const limit = req.limit || 10;
      if (limit > 100) throw new ConnectError("limit must be at most 100", Code.InvalidArgument);
      const rows = await read("growth", () => growth(db, r, metric, column));
      const previousStart = new Date(2 * r.start.getTime() - r.end.getTime());
      return {
        previousRange: { startTime: timestampFromDate(previousStart), endTime: timestampFromDate(r.start) },
        rows: rows
          .map((g) => ({ ...g, change: g.current - g.previous }))
          .filter((g) => g.change > 0)
          .sort((a, b) => b.change - a.change || a.key.localeCompare(b.key))
          .slice(0, limit)
          .map((g) => ({
            key: g.key,
            current: g.current,
            previous: g.previous,
            change: g.change,
            changePercent: percent(g.change, g.previous),
            newInPeriod: g.previous === 0,
          })),
      };
    },

    async getCostVariance(req, ctx) {
      const r = orgRange(req.orgId, req.range, ctx);
      const input = await read("cost variance", () => varianceInput(db, r));
      return {
        rows: varianceRows(input).map((v) => ({
          provider: v.provider,
          credentialId: v.credentialId,
          label: v.label,
          estimatedUsd: v.estimated,
          actualUsd: v.actual,
          varianceUsd: v.actual - v.estimated,
          variancePercent: percent(v.actual - v.estimated, v.estimated),
          hasActual: v.hasActual,
        })),
      };
    },

    async getBudgetStatus(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "analytics.read", orgId);
      const now = new Date();
      let start = monthStart(now);
      if (req.month) {
        if (!/^\d{4}-(0[1-9]|1[0-2])$/.test(req.month))
          throw new ConnectError("month must be YYYY-MM", Code.InvalidArgument);
        start = new Date(`${req.month}-01T00:00:00Z`);
      }
      const next = monthStart(start, 1);
      const end = next < now ? next : now;
      const rows = await read("budget status", () => budgetRows(db, { orgId, start, end }));
      const [org, ...keys] = rows.map((b) => ({
        apiKeyId: b.apiKeyId,
        label: b.label,
        monthlyBudgetUsd: b.budget,
        spentUsd: b.spent,
        percentUsed: percent(b.spent, b.budget),
        budgetAction: b.budget > 0 ? b.action : 0,
        exceeded: b.budget > 0 && b.spent >= b.budget,
      }));
      keys.sort((a, b) => b.percentUsed - a.percentUsed || a.label.localeCompare(b.label));
      return { month: start.toISOString().slice(0, 7), rows: org ? [org, ...keys] : keys };
    },
  };
}
