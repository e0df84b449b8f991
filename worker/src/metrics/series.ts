import type { Metric, Registry } from "prom-client";

/**
 * Metric families whose series are plain objects the request path updates
 * directly (`cell.value += 1`, {@link HistogramFamily.observe}), registered
 * in a prom-client Registry and turned into exposition samples only when it
 * is scraped.
 *
 * Why not prom-client's own metrics: every `inc`/`observe` there, through a
 * `labels()` child too, validates the label object and builds its hash key,
 * about 1 µs per update (bench/request-metrics.ts measures both); a request
 * updates about ten series. Here a request finds its series once, by one
 * joined-string Map lookup in the caller's cache, and then only adds numbers.
 * Single-threaded Node makes the plain fields safe.
 */

/** One series of a counter or gauge. Counters only ever add non-negative amounts. */
export interface ValueCell {
  value: number;
}

/** One series of a histogram: per-bucket counts (not cumulative; the last slot is +Inf), sum, count. */
export interface HistogramCell {
  readonly counts: Float64Array;
  sum: number;
  count: number;
}

type Labels = Record<string, string>;
/** A sample as prom-client's Registry formats it. */
interface Sample {
  value: number;
  labels: Labels;
  metricName?: string;
}

/** What the Registry reads from a metric: its name, help, type and samples (and `reset` from resetMetrics). */
abstract class Family<C> {
  readonly aggregator = "sum";
  private readonly series = new Map<string, { labels: Labels; cell: C }>();

  constructor(
    registry: Registry,
    readonly name: string,
    readonly help: string,
    readonly type: "counter" | "gauge" | "histogram",
    readonly labelNames: readonly string[],
  ) {
    // The Registry only calls name, get() and reset(); it is typed for prom-client's own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /**
   * The series with these label values (in `labelNames` order), created at
   * zero on first use. Callers keep the cell; this lookup is for cache misses.
   */
  cell(values: readonly string[]): C {
    const id = values.join("\u0001");
    let entry = this.series.get(id);
    if (!entry) {
      const labels: Labels = {};
      this.labelNames.forEach((n, i) => {
        labels[n] = values[i] ?? "";
      });
      entry = { labels, cell: this.create() };
      this.series.set(id, entry);
    }
    return entry.cell;
  }

  /** Number of series (label combinations) this family holds. */
  get size(): number {
    return this.series.size;
  }

  /** The family in prom-client's MetricObjectWithValues shape. */
  async get(): Promise<{ name: string; help: string; type: string; aggregator: string; values: Sample[] }> {
    const values: Sample[] = [];
    for (const { labels, cell } of this.series.values()) this.samples(labels, cell, values);
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }

  /** Zeroes every series (Registry.resetMetrics); cells stay valid for the callers holding them. */
  reset(): void {
    for (const { cell } of this.series.values()) this.zero(cell);
  }

  protected abstract create(): C;
  protected abstract zero(cell: C): void;
  protected abstract samples(labels: Labels, cell: C, out: Sample[]): void;
}

class ValueFamily extends Family<ValueCell> {
  protected create(): ValueCell {
    return { value: 0 };
  }
  protected zero(cell: ValueCell): void {
    cell.value = 0;
  }
  protected samples(labels: Labels, cell: ValueCell, out: Sample[]): void {
    out.push({ value: cell.value, labels });
  }
}

/** A counter family: add to `cell(...).value`, never subtract. */
export class CounterFamily extends ValueFamily {
  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    super(registry, name, help, "counter", labelNames);
  }
}

/** A gauge family: set, add to or subtract from `cell(...).value`. */
export class GaugeFamily extends ValueFamily {
  constructor(registry: Registry, name: string, help: string, labelNames: readonly string[]) {
    super(registry, name, help, "gauge", labelNames);
  }
}

/** A histogram family with fixed upper bounds (seconds, ascending). */
export class HistogramFamily extends Family<HistogramCell> {
  private readonly bounds: Float64Array;
  private readonly le: readonly string[];

  constructor(
    registry: Registry,
    name: string,
    help: string,
    labelNames: readonly string[],
    buckets: readonly number[],
  ) {
    super(registry, name, help, "histogram", labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!((buckets[i] ?? 0) > (buckets[i - 1] ?? 0))) throw new Error(`${name}: buckets must ascend`);
    }
    this.bounds = Float64Array.from(buckets);
    this.le = [...buckets.map(String), "+Inf"];
  }

  /** Records one observation (a finite number) in the series. */
  observe(cell: HistogramCell, value: number): void {
    const bounds = this.bounds;
    let i = 0;
    while (i < bounds.length && value > (bounds[i] as number)) i++;
    cell.counts[i] = (cell.counts[i] ?? 0) + 1;
    cell.sum += value;
    cell.count++;
  }

  protected create(): HistogramCell {
    return { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 };
  }
  protected zero(cell: HistogramCell): void {
    cell.counts.fill(0);
    cell.sum = 0;
    cell.count = 0;
  }
  protected samples(labels: Labels, cell: HistogramCell, out: Sample[]): void {
    const bucket = `${this.name}_bucket`;
    let cumulative = 0;
    for (let i = 0; i < this.le.length; i++) {
      cumulative += cell.counts[i] as number;
      out.push({ value: cumulative, labels: { le: this.le[i] as string, ...labels }, metricName: bucket });
    }
    out.push({ value: cell.sum, labels, metricName: `${this.name}_sum` });
    out.push({ value: cell.count, labels, metricName: `${this.name}_count` });
  }
}
