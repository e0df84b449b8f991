import { metricOfSeries } from "./metric-catalog.js";
import type { DataValue } from "./serialize.js";

/** One query of a panel. */
export interface QuerySpec {
  readonly expr: string;
  readonly legend: string;
}

/** A panel before layout: what it shows and how wide it is (of 24 columns). */
export interface PanelSpec {
  readonly title: string;
  readonly type: "stat" | "timeseries" | "bargauge" | "state-timeline";
  readonly unit: string;
  readonly description: string;
  readonly queries: readonly QuerySpec[];
  readonly width: number;
  /** Bar gauges read one value per series (instant queries). */
  readonly instant?: boolean;
  readonly mappings?: DataValue;
}

/** A collapsible row of panels. */
export interface SectionSpec {
  readonly title: string;
  readonly panels: readonly PanelSpec[];
}

/** Every panel and query reads the data source picked in the `datasource` variable. */
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana's variable syntax, not a JavaScript template.
export const DATASOURCE = { type: "prometheus", uid: "${datasource}" } as const;

const FILTERS: Readonly<Record<string, string>> = {
  organization: "$organization",
  provider: "$provider",
  model: "$model",
};

/**
 * A selector for `series` with the dashboard filters (organization,
 * provider, model) its metric carries, plus `extra` matchers.
 */
export function sel(series: string, extra = ""): string {
  const spec = metricOfSeries(series);
  if (!spec) throw new Error(`not in the metric catalog: ${series}`);
  const matchers = Object.entries(FILTERS)
    .filter(([label]) => spec.labels.includes(label))
    .map(([label, variable]) => `${label}=~"${variable}"`);
  if (extra) matchers.push(extra);
  return `${series}{${matchers.join(", ")}}`;
}

/** `rate(<filtered series>[$__rate_interval])`. */
export const rateOf = (series: string, extra = ""): string => `rate(${sel(series, extra)}[$__rate_interval])`;

/** `histogram_quantile(q, sum by (le, …) (rate(<histogram>_bucket[…])))`. */
export function quantile(q: number, histogram: string, by: readonly string[] = []): string {
  return `histogram_quantile(${q}, sum by (${["le", ...by].join(", ")}) (${rateOf(`${histogram}_bucket`)}))`;
}
