/**
 * Small builders for the PromQL of the alert rules, so every rule states its
 * windows, baselines and floors the same way.
 */

/** The request dimensions the request metrics carry. */
export const REQUEST_LABELS = ["organization", "provider", "credential", "model", "request_type"] as const;

/** `sum by (labels) (inner)`, or `sum(inner)` without labels. */
export function sumBy(labels: readonly string[], inner: string): string {
  return labels.length === 0 ? `sum(${inner})` : `sum by (${labels.join(", ")}) (${inner})`;
}

/** `rate(selector[window])`, with ` offset <offset>` when given. */
export function rate(selector: string, window: string, offset?: string): string {
  return `rate(${selector}[${window}]${offset ? ` offset ${offset}` : ""})`;
}

/** `sum by (labels) (rate(selector[window] offset …))`. */
export function sumRate(
  labels: readonly string[],
  selector: string,
  window: string,
  offset?: string,
): string {
  return sumBy(labels, rate(selector, window, offset));
}

/**
 * `numerator / denominator`; with `guard`, the denominator is kept only
 * where it is above zero (a baseline with no traffic is no baseline, rather
 * than NaN).
 */
export function ratio(numerator: string, denominator: string, guard = false): string {
  const den = guard ? `(${denominator} > 0)` : denominator;
  return `(\n  ${numerator}\n/\n  ${den}\n)`;
}

/** Mean of a histogram over a window: `_sum` rate / `_count` rate. */
export function histogramMean(
  labels: readonly string[],
  histogram: string,
  window: string,
  offset?: string,
): string {
  return ratio(
    sumRate(labels, `${histogram}_sum`, window, offset),
    sumRate(labels, `${histogram}_count`, window, offset),
    offset !== undefined,
  );
}

/**
 * `current > max(factor × baseline, floor)`, evaluated per series. Where the
 * baseline has no value (no history, or no traffic then), `0 * shape` (any
 * expression with the same labels as `current`) stands in, so the floor
 * alone decides. The alert's value is `current`.
 */
export function aboveBaseline(
  current: string,
  baseline: string,
  factor: number,
  floor: number,
  shape: string,
): string {
  return `${current}\n> clamp_min(\n  ${factor} * ${indentAfterFirst(baseline)}\n  or 0 * ${indentAfterFirst(shape)},\n  ${floor}\n)`;
}

/** `text` with every line after the first indented by two spaces, to nest it in a larger expression. */
export const indentAfterFirst = (text: string): string => text.replaceAll("\n", "\n  ");
