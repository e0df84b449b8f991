import { Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { CounterFamily, HistogramFamily } from "../metrics/series.js";
import { aggregateSamples } from "./aggregate.js";

/** One worker process's registry: a counter, a histogram and gauges with the aggregators the worker uses. */
function processRegistry(requests: number, latencies: number[], version: number, cost: number) {
  const registry = new Registry();
  const counter = new CounterFamily(registry, "t_requests_total", "requests", ["model"]);
  counter.cell(["m"]).value = requests;
  const histogram = new HistogramFamily(registry, "t_duration_seconds", "duration", ["model"], [0.1, 1]);
  const cell = histogram.cell(["m"]);
  for (const l of latencies) histogram.observe(cell, l);
  new Gauge({ name: "t_version", help: "v", aggregator: "min", registers: [registry] }).set(version);
  new Gauge({ name: "t_cost", help: "c", aggregator: "first", registers: [registry] }).set(cost);
  return registry;
}

const line = (body: string, prefix: string) => body.split("\n").find((l) => l.startsWith(prefix));

describe("aggregateSamples", () => {
  it("adds counters and histograms, and applies each gauge's aggregator", async () => {
    const a = processRegistry(3, [0.05, 0.5, 2], 7, 12.5);
    const b = processRegistry(4, [0.05, 0.05, 0.5, 0.5], 6, 12.5);
    const { body, contentType } = await aggregateSamples([
      await a.getMetricsAsJSON(),
      await b.getMetricsAsJSON(),
    ]);
    expect(contentType).toContain("text/plain");
    expect(line(body, 't_requests_total{model="m"}')).toBe('t_requests_total{model="m"} 7');
    expect(line(body, 't_duration_seconds_bucket{le="0.1",model="m"}')).toMatch(/ 3$/);
    expect(line(body, 't_duration_seconds_bucket{le="1",model="m"}')).toMatch(/ 6$/);
    expect(line(body, 't_duration_seconds_bucket{le="+Inf",model="m"}')).toMatch(/ 7$/);
    expect(line(body, 't_duration_seconds_count{model="m"}')).toMatch(/ 7$/);
    expect(Number(line(body, 't_duration_seconds_sum{model="m"}')?.split(" ")[1])).toBeCloseTo(3.65, 9);
    expect(line(body, "t_version ")).toBe("t_version 6");
    expect(line(body, "t_cost ")).toBe("t_cost 12.5");
  });

  it("keeps series only one process has", async () => {
    const a = processRegistry(1, [], 1, 0);
    const b = new Registry();
    new CounterFamily(b, "t_requests_total", "requests", ["model"]).cell(["other"]).value = 2;
    const { body } = await aggregateSamples([await a.getMetricsAsJSON(), await b.getMetricsAsJSON()]);
    expect(body).toContain('t_requests_total{model="m"} 1');
    expect(body).toContain('t_requests_total{model="other"} 2');
  });
});
