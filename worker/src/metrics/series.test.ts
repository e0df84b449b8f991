import { Counter, Gauge, Histogram, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { CounterFamily, GaugeFamily, HistogramFamily } from "./series.js";

const BUCKETS = [0.01, 0.1, 1, 10];
const OBSERVATIONS = [0.005, 0.01, 0.05, 0.5, 0.5, 3, 42, 1e-9];

/** The exposition with `ours_`/`theirs_` names made equal. */
const normalise = (text: string) => text.replaceAll(/\b(ours|theirs)_/g, "m_");

describe("metric families with cached cells", () => {
  it("expose a histogram exactly as prom-client's Histogram does for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const family = new HistogramFamily(ours, "ours_seconds", "help text", ["org", "model"], BUCKETS);
    const reference = new Histogram({
      name: "theirs_seconds",
      help: "help text",
      labelNames: ["org", "model"],
      buckets: BUCKETS,
      registers: [theirs],
    });
    for (const [org, model] of [
      ["a", "m1"],
      ["b", 'we"ird\\\nname'],
    ] as const) {
      const cell = family.cell([org, model]);
      for (const v of OBSERVATIONS) {
        family.observe(cell, v);
        reference.observe({ org, model }, v);
      }
    }
    expect(normalise(await ours.metrics())).toBe(normalise(await theirs.metrics()));
  });

  it("expose counters and gauges as prom-client does, and return the same cell for the same labels", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const counter = new CounterFamily(ours, "ours_total", "c", ["a", "b"]);
    const gauge = new GaugeFamily(ours, "ours_active", "g", ["a"]);
    const refCounter = new Counter({
      name: "theirs_total",
      help: "c",
      labelNames: ["a", "b"],
      registers: [theirs],
    });
    const refGauge = new Gauge({ name: "theirs_active", help: "g", labelNames: ["a"], registers: [theirs] });
    counter.cell(["x", "y"]).value += 2;
    counter.cell(["x", "y"]).value += 0.5;
    counter.cell(["x", "z"]).value += 1;
    refCounter.inc({ a: "x", b: "y" }, 2.5);
    refCounter.inc({ a: "x", b: "z" }, 1);
    const g = gauge.cell(["x"]);
    g.value += 2;
    g.value -= 1;
    refGauge.set({ a: "x" }, 1);
    expect(counter.cell(["x", "y"])).toBe(counter.cell(["x", "y"]));
    expect(counter.size).toBe(2);
    expect(normalise(await ours.metrics())).toBe(normalise(await theirs.metrics()));
  });

  it("show HELP and TYPE without series, zero on reset while cells stay usable, and reject unordered buckets", async () => {
    const registry = new Registry();
    const family = new HistogramFamily(registry, "h_seconds", "h", ["a"], BUCKETS);
    const counter = new CounterFamily(registry, "c_total", "c", []);
    expect(await registry.metrics()).toContain("# HELP h_seconds h\n# TYPE h_seconds histogram");
    const cell = family.cell(["x"]);
    family.observe(cell, 0.2);
    const c = counter.cell([]);
    c.value += 3;
    registry.resetMetrics();
    expect(cell.count).toBe(0);
    family.observe(cell, 0.2);
    c.value += 1;
    const text = await registry.metrics();
    expect(text).toContain('h_seconds_count{a="x"} 1');
    expect(text).toContain("c_total 1");
    expect(() => new HistogramFamily(registry, "bad", "b", [], [1, 1])).toThrow("ascend");
  });
});
