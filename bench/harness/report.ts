/** The harness's results as one Markdown table: a row per figure, a column per target of the same run. */
import type { Machine } from "../lib/machine.js";
import type { ColdWorkFigure } from "./cold-work.js";
import type { BackToBackFigure, StreamBackToBackFigure } from "./one-in-flight.js";
import type { OpenLoopResult } from "./open-loop.js";
import type { AddedLatencyResult } from "./paired.js";
import type { ClosedLoopFigure, OpenStreamsFigure, PerTarget, StreamingFigure } from "./scenarios.js";
import type { Role } from "./targets.js";

export interface Results {
  idleRssBytes: PerTarget<number | undefined>;
  /** After `idleSettleSeconds` more with no traffic. */
  settledIdleRssBytes: PerTarget<number | undefined>;
  closedLoop: Record<string, PerTarget<ClosedLoopFigure>>;
  /** every target in turn each round */
  oneInFlight: PerTarget<AddedLatencyResult>;
  /** the baseline and one target alternating, pair by pair */
  oneInFlightAlternating: PerTarget<AddedLatencyResult>;
  backToBack: PerTarget<BackToBackFigure>;
  openLoop: Record<string, PerTarget<OpenLoopResult>>;
  streaming: PerTarget<StreamingFigure>;
  streamOneInFlight: PerTarget<AddedLatencyResult>;
  streamAlternating: PerTarget<AddedLatencyResult>;
  streamBackToBack: PerTarget<StreamBackToBackFigure>;
  /** the machine: the same small work after idles of 0–20 ms */
  coldWork: ColdWorkFigure[];
  openStreams: PerTarget<OpenStreamsFigure>;
  rssAfterBytes: PerTarget<number | undefined>;
}

export interface Column {
  name: string;
  role: Role;
  /** why there are no figures */
  unavailable?: string;
}

const ROLE: Record<Role, string> = {
  baseline: "baseline",
  "hop-floor": "one-hop floor",
  "node-limit": "Node limit",
  subject: "this gateway",
  peer: "peer",
};

const fixed = (digits: number) => (x: number | undefined) =>
  x === undefined || Number.isNaN(x)
    ? "–"
    : x.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const ms = fixed(2);
const count = fixed(0);
const mb = (x: number | undefined) => (x === undefined ? "–" : fixed(1)(x / 2 ** 20));
const kb = (x: number | undefined) => (x === undefined ? "–" : fixed(1)(x / 1024));

type Row = [label: string, cell: (name: string) => string];

/** "added p50 / added p99" of a paired-rounds figure. */
const added = (x: AddedLatencyResult | undefined) => `${ms(x?.addedMedianMs)} / ${ms(x?.addedP99Ms)}`;

function rows(r: Results, baseline: string): Row[] {
  const out: Row[] = [];
  for (const [key, byTarget] of Object.entries(r.closedLoop)) {
    const c = key.slice(1);
    const base = byTarget[baseline]?.requestsPerSecond;
    out.push(
      [`closed loop c=${c}: req/s`, (n) => count(byTarget[n]?.requestsPerSecond)],
      [
        `closed loop c=${c}: % of baseline req/s`,
        (n) => fixed(1)(base ? ((byTarget[n]?.requestsPerSecond ?? Number.NaN) / base) * 100 : undefined),
      ],
      [`closed loop c=${c}: p50 / p99 ms`, (n) => `${ms(byTarget[n]?.p50Ms)} / ${ms(byTarget[n]?.p99Ms)}`],
      [
        `closed loop c=${c}: non-2xx + socket errors`,
        (n) => count(byTarget[n] ? byTarget[n].non2xx + byTarget[n].socketErrors : undefined),
      ],
    );
  }
  const one = r.oneInFlight;
  const alt = r.oneInFlightAlternating;
  const b2b = r.backToBack;
  out.push(
    [
      "1 in flight, all in turn: p50 / p99 ms",
      (n) => `${ms(one[n]?.latencyMs.p50)} / ${ms(one[n]?.latencyMs.p99)}`,
    ],
    ["1 in flight, all in turn: added p50 / p99 ms", (n) => added(one[n])],
    ["1 in flight, alternating with the baseline: added p50 / p99 ms", (n) => added(alt[n])],
    [
      "1 connection back to back (wrk -c1): p50 ms / added p50 ms",
      (n) => `${ms(b2b[n]?.p50Ms)} / ${ms(b2b[n]?.addedP50Ms)}`,
    ],
  );
  for (const [key, byTarget] of Object.entries(r.openLoop)) {
    const rate = key.slice(4);
    out.push(
      [
        `open loop ${rate}/s: p50 / p99 / p99.9 ms`,
        (n) =>
          `${ms(byTarget[n]?.latencyMs.p50)} / ${ms(byTarget[n]?.latencyMs.p99)} / ${ms(byTarget[n]?.latencyMs.p999)}`,
      ],
      [
        `open loop ${rate}/s: achieved/s (failed)`,
        (n) => {
          const x = byTarget[n];
          return x ? `${count(x.achievedPerSecond)} (${count(x.non2xx + x.errors + x.dropped)})` : "–";
        },
      ],
    );
  }
  const s = r.streaming;
  const t = r.streamOneInFlight;
  out.push(
    [
      "stream 1 in flight: TTFT p50 / p99 ms",
      (n) => `${ms(t[n]?.latencyMs.p50)} / ${ms(t[n]?.latencyMs.p99)}`,
    ],
    ["stream 1 in flight, all in turn: added TTFT p50 / p99 ms", (n) => added(t[n])],
    [
      "stream 1 in flight, alternating with the baseline: added TTFT p50 / p99 ms",
      (n) => added(r.streamAlternating[n]),
    ],
    [
      "streams back to back (1 connection): TTFT p50 ms / added p50 ms",
      (n) => `${ms(r.streamBackToBack[n]?.ttftMs.p50)} / ${ms(r.streamBackToBack[n]?.addedP50Ms)}`,
    ],
    ["stream 1 in flight: failed", (n) => count(t[n]?.failures)],
    ["stream burst: complete / streams", (n) => (s[n] ? `${s[n].complete} / ${s[n].streams}` : "–")],
    ["stream burst: TTFT p50 / p99 ms", (n) => `${ms(s[n]?.ttftMs.p50)} / ${ms(s[n]?.ttftMs.p99)}`],
    ["stream burst: added TTFT ms (p50)", (n) => ms(s[n]?.addedTtftMs)],
    [
      "stream burst: chunk gap p50 / p99 / max ms",
      (n) => `${ms(s[n]?.gapMs.p50)} / ${ms(s[n]?.gapMs.p99)} / ${ms(s[n]?.gapMs.max)}`,
    ],
    ["RSS idle MB, right after start", (n) => mb(r.idleRssBytes[n])],
    ["RSS idle MB, settled (no traffic since start)", (n) => mb(r.settledIdleRssBytes[n])],
    ["RSS peak under load (closed loop) MB", (n) => mb(peakUnderLoad(r, n))],
    [
      "RSS with open streams MB (open)",
      (n) => (r.openStreams[n] ? `${mb(r.openStreams[n].measured)} (${r.openStreams[n].open})` : "–"),
    ],
    ["RSS per open stream KB (vs just before)", (n) => kb(r.openStreams[n]?.bytesPerStream)],
    ["RSS at the end MB", (n) => mb(r.rssAfterBytes[n])],
  );
  return out;
}

export function peakUnderLoad(r: Results, name: string): number | undefined {
  const peaks = Object.values(r.closedLoop).map((t) => t[name]?.peakRssBytes);
  const known = peaks.filter((x) => x !== undefined);
  return known.length ? Math.max(...known) : undefined;
}

/** The table, then a line per unavailable target and one describing the machine. */
export function table(r: Results, columns: Column[], m: Machine, profile: string): string {
  const baseline = columns.find((c) => c.role === "baseline")?.name ?? "mock";
  const head = `| figure | ${columns.map((c) => `${c.name} (${ROLE[c.role]})`).join(" | ")} |`;
  const rule = `|---|${columns.map(() => "---:").join("|")}|`;
  const body = rows(r, baseline).map(
    ([label, cell]) =>
      `| ${label} | ${columns.map((c) => (c.unavailable ? "n/a" : cell(c.name))).join(" | ")} |`,
  );
  const notes = columns
    .filter((c) => c.unavailable)
    .map((c) => `- ${c.name}: not measured: ${c.unavailable}`);
  const streamErrors = Object.entries(r.streaming)
    .filter(([, f]) => f.firstError)
    .map(([name, f]) => `- ${name} streaming: ${f.failed} failed, first error: ${f.firstError}`);
  const cold = r.coldWork.length
    ? `The machine: one fixed piece of work (a chat body parsed and re-serialised, a key hashed and looked up) takes ${r.coldWork.map((f) => `${fixed(0)(f.p50Us)} µs ${f.idleMs ? `after ${f.idleMs} ms idle` : "back to back"}`).join(", ")} (p50).`
    : "";
  const machine = `Profile ${profile}; ${m.cpus} × ${m.cpu ?? "CPU"}, ${m.memoryGiB} GiB, Node ${m.node}, Linux ${m.kernel}, load average ${m.loadAverage.map((x) => x.toFixed(2)).join(" ")}.`;
  return [head, rule, ...body, "", ...notes, ...streamErrors, ...(cold ? [cold] : []), machine].join("\n");
}
