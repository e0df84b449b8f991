import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type AnalyticsService,
  Dimension,
  Metric,
  type TimeRange,
} from "../../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { labelsOf } from "../analytics/finops.js";
import {
  activeProviders,
  breakdown,
  type DimensionColumn,
  latencyQuantiles,
  type Range,
  type SeriesMetric,
  timeSeries,
  totals,
} from "../analytics/queries.js";
import { read, type ServiceDeps } from "./deps.js";
import { breakdownRow, createFinopsAnalytics, orderOf, orgRange } from "./finops-analytics.js";

const MAX_POINTS = 2000;

const COLUMNS: Partial<Record<Dimension, DimensionColumn>> = {
  [Dimension.PROVIDER]: "provider",
  [Dimension.MODEL]: "model",
  [Dimension.CREDENTIAL]: "credential",
  [Dimension.API_KEY]: "api_key",
  [Dimension.USER]: "user",
};

const METRICS: Partial<Record<Metric, SeriesMetric>> = {
  [Metric.REQUESTS]: "requests",
  [Metric.ERRORS]: "errors",
  [Metric.TOKENS]: "tokens",
  [Metric.LATENCY_MEAN_MS]: "latency_mean_ms",
  [Metric.ESTIMATED_COST_USD]: "cost_usd",
};

const rangeOf = (orgId: string, range: TimeRange | undefined, ctx: HandlerContext): Range =>
  orgRange(orgId, range, ctx);

function dimensionColumn(d: Dimension, field: string): DimensionColumn {
  const column = COLUMNS[d];
  if (!column)
    throw new ConnectError(
      `${field} must be one of PROVIDER, MODEL, CREDENTIAL, API_KEY, USER`,
      Code.InvalidArgument,
    );
  return column;
}

export function createAnalyticsService(deps: ServiceDeps): ServiceImpl<typeof AnalyticsService> {
  const { db } = deps;
  return {
    ...createFinopsAnalytics(deps),
    async getOverview(req, ctx) {
      const r = rangeOf(req.orgId, req.range, ctx);
      const [t, [p50, p95, p99] = [], providers] = await read("overview", () =>
        Promise.all([
          totals(db, r),
          latencyQuantiles(db, r, [0.5, 0.95, 0.99]),
          activeProviders(db, r.orgId),
        ]),
      );
      const seconds = (r.end.getTime() - r.start.getTime()) / 1000;
      return {
        activeProviders: providers,
        requests: BigInt(t.requests),
        errors: BigInt(t.errors),
        requestsPerSecond: t.requests / seconds,
        errorRate: t.requests ? t.errors / t.requests : 0,
        latencyP50Ms: p50 ?? 0,
        latencyP95Ms: p95 ?? 0,
        latencyP99Ms: p99 ?? 0,
        latencyMeanMs: t.requests ? t.durationMsSum / t.requests : 0,
        promptTokens: BigInt(t.promptTokens),
        completionTokens: BigInt(t.completionTokens),
        cachedTokens: BigInt(t.cachedTokens),
        estimatedCostUsd: t.costUsd,
      };
    },

    async getBreakdown(req, ctx) {
      const r = rangeOf(req.orgId, req.range, ctx);
      const column = dimensionColumn(req.dimension, "dimension");
      const [rows, labels] = await read("breakdown", () =>
        Promise.all([
          breakdown(db, r, column, orderOf(req.orderBy)),
          column === "credential" || column === "api_key" ? labelsOf(db, r.orgId, column) : undefined,
        ]),
      );
      return { rows: rows.map((row) => breakdownRow(row, labels?.get(row.key) ?? "")) };
    },

    async queryTimeSeries(req, ctx) {
      const r = rangeOf(req.orgId, req.range, ctx);
      const metric = METRICS[req.metric];
      if (!metric)
        throw new ConnectError(
          "metric must be REQUESTS, ERRORS, TOKENS, LATENCY_MEAN_MS or ESTIMATED_COST_USD",
          Code.InvalidArgument,
        );
      const step = req.stepSeconds || 60;
      if (step % 60 !== 0)
        throw new ConnectError("step_seconds must be a multiple of 60", Code.InvalidArgument);
      if ((r.end.getTime() - r.start.getTime()) / 1000 / step > MAX_POINTS) {
        throw new ConnectError(
          `step_seconds too small: at most ${MAX_POINTS} points per series`,
          Code.InvalidArgument,
        );
      }
      const column =
        req.groupBy === Dimension.UNSPECIFIED ? undefined : dimensionColumn(req.groupBy, "group_by");
      const rows = await read("time series", () => timeSeries(db, r, metric, step, column));
      const series = new Map<string, Array<{ time: ReturnType<typeof timestampFromDate>; value: number }>>();
      for (const row of rows) {
        const points = series.get(row.key) ?? [];
        points.push({ time: timestampFromDate(row.time), value: row.value });
        series.set(row.key, points);
      }
      return { series: [...series].map(([key, points]) => ({ key, points })) };
    },
  };
}
