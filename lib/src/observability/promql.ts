import { metricOfSeries, SCRAPE_LABELS } from "./metric-catalog.js";

/** A metric selector found in a PromQL expression, with the label names its matchers use. */
export interface SelectorRef {
  readonly metric: string;
  readonly matcherLabels: readonly string[];
}

/** What a PromQL expression reads: selectors and the labels named in by/without/on/ignoring/group_*. */
export interface PromqlRefs {
  readonly selectors: readonly SelectorRef[];
  readonly groupingLabels: readonly string[];
}

const GROUPING = new Set(["by", "without", "on", "ignoring", "group_left", "group_right"]);
const KEYWORDS = new Set([...GROUPING, "offset", "bool", "and", "or", "unless", "atan2", "inf", "nan"]);
const AGGREGATIONS = new Set([
  "sum",
  "min",
  "max",
  "avg",
  "group",
  "stddev",
  "stdvar",
  "count",
  "count_values",
  "bottomk",
  "topk",
  "quantile",
]);
const IDENT_START = /[A-Za-z_:]/;
const IDENT = /[A-Za-z0-9_:]/;

/**
 * Lists the metric names and label names a PromQL expression refers to. A
 * small lexer, not a parser: enough to check generated expressions against
 * the metric catalog (strings, ranges, numbers, durations and Grafana
 * variables such as `$organization` or `${datasource}` are skipped).
 */
export function promqlReferences(expr: string): PromqlRefs {
  const selectors: SelectorRef[] = [];
  const groupingLabels: string[] = [];
  let i = 0;
  const skipSpace = () => {
    while (i < expr.length && /\s/.test(expr[i] as string)) i++;
  };
  const readIdent = () => {
    const start = i;
    while (i < expr.length && IDENT.test(expr[i] as string)) i++;
    return expr.slice(start, i);
  };
  const skipString = () => {
    const quote = expr[i];
    i++;
    while (i < expr.length && expr[i] !== quote) i += expr[i] === "\\" ? 2 : 1;
    i++;
  };
  const readMatchers = (): string[] => {
    const labels: string[] = [];
    i++; // {
    for (skipSpace(); i < expr.length && expr[i] !== "}"; skipSpace()) {
      const c = expr[i] as string;
      if (c === '"' || c === "'" || c === "`") skipString();
      else if (IDENT_START.test(c)) labels.push(readIdent());
      else i++;
    }
    i++; // }
    return labels;
  };
  const readLabelList = (): string[] => {
    const labels: string[] = [];
    i++; // (
    for (skipSpace(); i < expr.length && expr[i] !== ")"; skipSpace()) {
      if (IDENT_START.test(expr[i] as string)) labels.push(readIdent());
      else i++;
    }
    i++; // )
    return labels;
  };

  while (i < expr.length) {
    const c = expr[i] as string;
    if (/\s/.test(c)) i++;
    else if (c === "#") while (i < expr.length && expr[i] !== "\n") i++;
    else if (c === '"' || c === "'" || c === "`") skipString();
    else if (c === "[") i = expr.indexOf("]", i) + 1 || expr.length;
    else if (c === "$") {
      i++;
      if (expr[i] === "{") i = expr.indexOf("}", i) + 1 || expr.length;
      else readIdent();
    } else if (/[0-9.]/.test(c)) while (i < expr.length && /[0-9A-Za-z_.]/.test(expr[i] as string)) i++;
    else if (c === "{") selectors.push({ metric: "", matcherLabels: readMatchers() });
    else if (IDENT_START.test(c)) {
      const ident = readIdent();
      skipSpace();
      const next = expr[i];
      if (GROUPING.has(ident)) {
        if (next === "(") groupingLabels.push(...readLabelList());
      } else if (KEYWORDS.has(ident.toLowerCase()) || AGGREGATIONS.has(ident) || next === "(") {
        // operator, aggregation or function call
      } else {
        selectors.push({ metric: ident, matcherLabels: next === "{" ? readMatchers() : [] });
      }
    } else i++;
  }
  return { selectors, groupingLabels };
}

/**
 * Problems with an expression against the metric catalog: unknown metric
 * names, matchers on labels the metric does not have, and grouping labels
 * that none of the expression's metrics (nor the scrape) carries. Empty
 * when the expression only uses what the workers export.
 */
export function catalogProblems(expr: string): string[] {
  const { selectors, groupingLabels } = promqlReferences(expr);
  const problems: string[] = [];
  const available = new Set<string>(SCRAPE_LABELS);
  if (selectors.length === 0) problems.push("reads no metric");
  for (const { metric, matcherLabels } of selectors) {
    const spec = metricOfSeries(metric);
    if (!spec) {
      problems.push(`unknown metric "${metric}"`);
      continue;
    }
    const own = new Set([...spec.labels, ...SCRAPE_LABELS, ...(metric.endsWith("_bucket") ? ["le"] : [])]);
    for (const label of own) available.add(label);
    for (const label of matcherLabels) {
      if (!own.has(label)) problems.push(`${metric} has no label "${label}"`);
    }
  }
  for (const label of groupingLabels) {
    if (!available.has(label)) problems.push(`no metric in the expression has label "${label}"`);
  }
  return problems;
}
