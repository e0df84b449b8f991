/** How long and how much each scenario of the harness runs: `full` (default) or `short` (~3 minutes). */

export interface Profile {
  name: "full" | "short";
  /** closed loop (wrk) per target before measuring, at 32 connections */
  warmupSeconds: number;
  closedLoopConnections: number[];
  closedLoopSeconds: number;
  /** every closed-loop figure is the median of this many runs, the targets taking turns */
  closedLoopRounds: number;
  /** one request in flight: this many rounds of one request to each target in turn */
  addedLatencyRounds: number;
  /** one connection, requests back to back (wrk -c1): this many seconds per target and round */
  backToBackSeconds: number;
  backToBackRounds: number;
  /** streams back to back (time to first token, warm): this many per target and round */
  backToBackStreams: number;
  /** fixed arrival rates (requests per second), each for `openLoopSeconds` per target */
  openLoopRates: number[];
  openLoopSeconds: number;
  /** streams at one in flight: rounds of one stream to each target in turn (time to first token) */
  ttftRounds: number;
  /** paced streams (`streamChunks` chunks `streamIntervalMs` apart): rounds × concurrent streams per target */
  streamRounds: number;
  streamConcurrency: number;
  streamChunks: number;
  streamIntervalMs: number;
  /** streams held open at once for the memory figure */
  openStreams: number;
  /** the machine's cold-work figure: timed runs per idle length */
  coldWorkSamples: number;
  /**
   * Idle RSS is read right after start and again after this long with no traffic: V8 shrinks its
   * young generation (the memory reducer) about 15 s after the startup work stops.
   */
  idleSettleSeconds: number;
}

const FULL: Profile = {
  name: "full",
  warmupSeconds: 3,
  closedLoopConnections: [32, 256],
  closedLoopSeconds: 10,
  closedLoopRounds: 2,
  addedLatencyRounds: 2000,
  backToBackSeconds: 4,
  backToBackRounds: 3,
  backToBackStreams: 500,
  openLoopRates: [200, 1000],
  openLoopSeconds: 10,
  ttftRounds: 400,
  streamRounds: 5,
  streamConcurrency: 8,
  streamChunks: 64,
  streamIntervalMs: 20,
  openStreams: 1000,
  idleSettleSeconds: 30,
  coldWorkSamples: 300,
};

const SHORT: Profile = {
  ...FULL,
  name: "short",
  warmupSeconds: 1,
  closedLoopSeconds: 3,
  closedLoopRounds: 1,
  addedLatencyRounds: 300,
  backToBackSeconds: 2,
  backToBackRounds: 1,
  backToBackStreams: 200,
  openLoopRates: [200],
  openLoopSeconds: 3,
  ttftRounds: 60,
  streamRounds: 2,
  streamConcurrency: 4,
  coldWorkSamples: 100,
};

export function profileNamed(name: string): Profile {
  if (name === "full") return FULL;
  if (name === "short") return SHORT;
  throw new Error(`--profile must be "full" or "short", got "${name}"`);
}
