/**
 * wrk (the Debian package, closed loop: each connection sends its next request
 * when the last one is answered) and the Lua scripts that make it POST a body.
 */
import { execFile } from "node:child_process";
import { writeFile } from "node:fs/promises";
import { promisify } from "node:util";

export interface WrkResult {
  requestsPerSecond: number;
  p50Ms: number;
  p90Ms: number;
  p99Ms: number;
  non2xx: number;
  /** connect, read, write and timeout errors wrk counted */
  socketErrors: number;
}

const run = promisify(execFile);

/** "812.00us" / "3.21ms" / "1.02s" → milliseconds. */
export function toMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v);
  if (!m) return Number.NaN;
  const n = Number(m[1]);
  return m[2] === "us" ? n / 1000 : m[2] === "s" ? n * 1000 : m[2] === "m" ? n * 60_000 : n;
}

/** Parses wrk's `--latency` report. */
export function parseWrk(stdout: string): WrkResult {
  const pct = (p: string) => toMs(new RegExp(`^\\s+${p}%\\s+(\\S+)`, "m").exec(stdout)?.[1] ?? "");
  const errors = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout);
  return {
    requestsPerSecond: Number(/Requests\/sec:\s+([\d.]+)/.exec(stdout)?.[1]),
    p50Ms: pct("50"),
    p90Ms: pct("90"),
    p99Ms: pct("99"),
    non2xx: Number(/Non-2xx or 3xx responses: (\d+)/.exec(stdout)?.[1] ?? 0),
    socketErrors: errors ? errors.slice(1).reduce((n, x) => n + Number(x), 0) : 0,
  };
}

/**
 * Runs wrk against `url` with `connections` for `seconds` (at most 2 threads);
 * a response slower than `timeoutSeconds` (wrk's default 2) counts as a socket error, not a latency.
 */
export async function wrk(
  url: string,
  connections: number,
  script: string,
  seconds: number,
  timeoutSeconds = 2,
): Promise<WrkResult> {
  const { stdout } = await run(
    "wrk",
    [
      `-t${Math.min(2, connections)}`,
      `-c${connections}`,
      `-d${seconds}s`,
      "--timeout",
      `${timeoutSeconds}s`,
      "--latency",
      "-s",
      script,
      url,
    ],
    { timeout: (seconds + timeoutSeconds + 30) * 1000 },
  );
  return parseWrk(stdout);
}

/** Writes a wrk Lua script that POSTs `body` as JSON with `headers`. */
export async function writePostScript(
  file: string,
  body: string,
  headers: Record<string, string>,
): Promise<void> {
  const lines = [
    'wrk.method = "POST"',
    `wrk.body = ${JSON.stringify(body)}`,
    'wrk.headers["Content-Type"] = "application/json"',
    ...Object.entries(headers).map(([k, v]) => `wrk.headers[${JSON.stringify(k)}] = ${JSON.stringify(v)}`),
  ];
  await writeFile(file, `${lines.join("\n")}\n`);
}

/** Several runs as one: the median of each figure, the sum of the error counts. */
export function medianOfRuns(runs: WrkResult[]): WrkResult {
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const field = (f: "requestsPerSecond" | "p50Ms" | "p90Ms" | "p99Ms") => median(runs.map((x) => x[f]));
  return {
    requestsPerSecond: field("requestsPerSecond"),
    p50Ms: field("p50Ms"),
    p90Ms: field("p90Ms"),
    p99Ms: field("p99Ms"),
    non2xx: runs.reduce((n, x) => n + x.non2xx, 0),
    socketErrors: runs.reduce((n, x) => n + x.socketErrors, 0),
  };
}
