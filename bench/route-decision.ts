/**
 * The worker's per-request route decision at scale, in-process and without I/O
 * (issue 8, target 5: ≤ 5 µs with 10,000 credentials and 100,000 keys):
 *
 *   node dist/bench/route-decision.js [--iterations 200000] [--rounds 5] [--warmup 100000] [--only <ids>]
 *
 * `--only 4-handler,1b-findKey` runs only the rows with these ids (for paired before/after runs).
 *
 * Builds a synthetic snapshot (1,000 organizations, each with 10 credentials
 * over several providers, 100 API keys and 10 routes of 2-3 weighted targets
 * plus a fallback step, a quarter with a second one), encodes it as the
 * control plane sends it, then decodes and applies it through
 * `RoutingTable.apply` as the worker does with a full table. Measures, as the
 * median over the rounds of the mean ns per iteration, with the key and model
 * of each iteration taken from a precomputed random sequence, and each request
 * as the HTTP server hands it over: a new object with a new flat header
 * string, built outside the timing a few thousand at a time (`freshRequests`):
 *
 * 1. authentication: `presentedKey` + `authenticate` (SHA-256 of the bearer
 *    token, `findKey`), and `authenticateRequest` as the handlers call it
 *    (synchronous for a gateway key, awaited only when it gives a promise);
 * 2. `routeFor` (org, model);
 * 3. the engine's choice as the handlers make it (`engine.run`), with an
 *    attempt that resolves at once: `pick`, `ready`, the attempt awaited,
 *    `after` (`run` when the pick is not ready); the row once also measured as "3a, engine.run
 *    awaited" is this one since the handlers call `engine.run` again. Beside it the synchronous
 *    floor, `pickTarget` + `barredBy` (3');
 * 4. the headline: what a handler runs, 1' + 2 + 3 (also over a hot set of
 *    1,000 keys). Beside it, for comparison with the figures before
 *    2026-11-29: the former headline (1 + 2 + 3), the same on the prebuilt
 *    requests it used to read (100,000 objects in random order, cons-string
 *    headers), and the handlers' former call (`await authenticateRequest`).
 *
 * Also reports the build time and the heap used with the table loaded.
 * Writes bench/results/route-decision-<timestamp>.json.
 */

import { mkdir, writeFile } from "node:fs/promises";
import type { IncomingMessage } from "node:http";
import { loadavg } from "node:os";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { fromBinary } from "@bufbuild/protobuf";
import { hashApiKey } from "../lib/src/api-key.js";
import { projectRoot } from "../lib/src/paths.js";
import { ErrorClass } from "../proto/gen/llmgateway/v1/common_pb.js";
import {
  type WatchRoutingTableResponse,
  WatchRoutingTableResponseSchema,
} from "../proto/gen/llmgateway/v1/worker_service_pb.js";
import { loadWorkerConfig } from "../worker/src/config.js";
import { authenticateRequest, type GatewayDeps, routeFor } from "../worker/src/handlers/common.js";
import { authenticate, keyHash, presentedKey } from "../worker/src/http/auth.js";
import {
  type AttemptResult,
  createRoutingEngine,
  type EngineObserver,
} from "../worker/src/routing/engine.js";
import { createCredentialHealth } from "../worker/src/routing/health.js";
import { createRetryBudget } from "../worker/src/routing/retry-budget.js";
import { type CompiledRoute, type CompiledTarget, pickTarget } from "../worker/src/table/compile.js";
import { createRoutingTable, type KeyRecord, type RoutingTable } from "../worker/src/table/routing-table.js";
import { arg } from "./lib/args.js";
import { machine, stampedName } from "./lib/machine.js";
import {
  CREDENTIALS_PER_ORG,
  encodeSnapshot,
  intBelow,
  KEYS_PER_ORG,
  ORGS,
  PROVIDERS,
  ROUTES_PER_ORG,
} from "./lib/synthetic-table.js";

const ITERATIONS = Number(arg("iterations", "200000"));
const ROUNDS = Number(arg("rounds", "5"));
const WARMUP = Number(arg("warmup", "100000"));
const ONLY = arg("only", "")
  .split(",")
  .filter((id) => id !== "");
const TARGET_NS = 5000;

/** Random (key, model) pairs the loops walk through, a power of two. */
const SLOTS = 1 << 19;
const MASK = SLOTS - 1;

const loadAtStart = loadavg();

// A forced collection before each heap reading (the bench runs without --expose-gc).
setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;
const heapUsedMiB = () => {
  gc();
  gc();
  return process.memoryUsage().heapUsed / 2 ** 20;
};

// ---- build ----------------------------------------------------------------

/** What the worker does with a full table from WatchRoutingTable: decode (Connect), then apply. */
function loadSnapshot(
  table: RoutingTable,
  bytes: Uint8Array,
): { decodeMs: number; applyMs: number; heapWithMessageMiB: number } {
  let t = performance.now();
  const message: WatchRoutingTableResponse = fromBinary(WatchRoutingTableResponseSchema, bytes);
  const decodeMs = performance.now() - t;
  t = performance.now();
  table.apply(message);
  const applyMs = performance.now() - t;
  const heapWithMessageMiB = heapUsedMiB();
  // Reading the message after the measurement keeps it live through it.
  return { decodeMs, applyMs, heapWithMessageMiB: message.version > 0n ? heapWithMessageMiB : 0 };
}

const heapBaseline = heapUsedMiB();
const snapshot = encodeSnapshot();
const { synthesizeMs, encodeMs } = snapshot;
const snapshotBytes = snapshot.bytes.length;
const { tokens, modelsByOrg, orgOfKey, targetsPerRoute, fallbackStepsPerRoute } = snapshot.rest;
const heapBeforeApply = heapUsedMiB();
const table = createRoutingTable();
const { decodeMs, applyMs, heapWithMessageMiB } = loadSnapshot(table, snapshot.bytes);
snapshot.bytes = new Uint8Array(0);
const heapAfterApply = heapUsedMiB();
const stats = table.stats();
if (stats.keys !== ORGS * KEYS_PER_ORG || stats.credentials !== ORGS * CREDENTIALS_PER_ORG) {
  throw new Error(`unexpected table: ${JSON.stringify(stats)}`);
}

const build = {
  synthesizeMs: Math.round(synthesizeMs),
  encodeMs: Math.round(encodeMs),
  snapshotBytes,
  decodeMs: Math.round(decodeMs),
  applyMs: Math.round(applyMs),
  decodeAndApplyMs: Math.round(decodeMs + applyMs),
};
const heap = {
  baselineMiB: round1(heapBaseline),
  /** Tokens and model lists the bench keeps, before the table exists. */
  beforeApplyMiB: round1(heapBeforeApply),
  /** Right after apply, the decoded message still referenced (forced GC). */
  withDecodedMessageMiB: round1(heapWithMessageMiB),
  /** After apply, message dropped, forced GC: the table plus what the bench keeps. */
  afterApplyMiB: round1(heapAfterApply),
  /** What the loaded table itself holds (afterApply − beforeApply). */
  tableMiB: round1(heapAfterApply - heapBeforeApply),
  rssMiB: round1(process.memoryUsage().rss / 2 ** 20),
};
console.log(
  `table: ${stats.organizations} organizations, ${stats.credentials} credentials, ${stats.keys} keys, ${stats.routes} routes`,
);
console.log(
  `build: snapshot ${(snapshotBytes / 2 ** 20).toFixed(1)} MiB, decode ${build.decodeMs} ms + apply ${build.applyMs} ms = ${build.decodeAndApplyMs} ms`,
);
console.log(
  `heap used: ${heap.baselineMiB} MiB before, ${heap.afterApplyMiB} MiB with the table (table ≈ ${heap.tableMiB} MiB), rss ${heap.rssMiB} MiB`,
);

// ---- what the worker holds ------------------------------------------------

const config = loadWorkerConfig({ LLM_GATEWAY_WORKER_TOKEN: "bench" });
const health = createCredentialHealth(config.routing.health);
const noop = () => {};
const observer: EngineObserver = { attemptFailed: noop, fallback: noop, retry: noop, budgetExhausted: noop };
const engine = createRoutingEngine({
  ...config.routing,
  health,
  budget: createRetryBudget(config.routing.budget),
  observer,
});
const deps = { table, sessions: undefined } as unknown as GatewayDeps;
const signal = new AbortController().signal;
const deadline = Date.now() + config.routing.requestTimeoutMs;
const served: AttemptResult<number> = { ok: true, value: 1 };
const servedPromise = Promise.resolve(served);
const attempt = (_target: CompiledTarget) => servedPromise;

// One credential in ten has a health entry (one recent timeout, circuit still closed).
{
  const seen = new Set<string>();
  let n = 0;
  for (let k = 0; k < tokens.length; k += KEYS_PER_ORG) {
    const key = table.findKey(hashApiKey(tokens[k] as string).toString("latin1")) as KeyRecord;
    for (const model of modelsByOrg[orgOfKey[k] as number] ?? []) {
      for (const step of table.findRoute(key.orgId, model)?.steps ?? []) {
        for (const target of step.targets) {
          if (seen.has(target.credential.id)) continue;
          seen.add(target.credential.id);
          if (n++ % 10 === 0) health.failure(target.credential, ErrorClass.TIMEOUT, undefined, Date.now());
        }
      }
    }
  }
}

// ---- the random sequence --------------------------------------------------

const reqOf = tokens.map((token) => ({ headers: { authorization: `Bearer ${token}` } }) as IncomingMessage);
const hashOf = tokens.map((token) => hashApiKey(token).toString("latin1"));
const recordOf = hashOf.map((h) => table.findKey(h) as KeyRecord);
const slotReq: IncomingMessage[] = [];
const slotToken: string[] = [];
const slotHash: string[] = [];
const slotKey: KeyRecord[] = [];
const slotModel: string[] = [];
const slotRoute: CompiledRoute[] = [];
for (let i = 0; i < SLOTS; i++) {
  const k = intBelow(tokens.length);
  const models = modelsByOrg[orgOfKey[k] as number] as string[];
  const model = models[intBelow(models.length)] as string;
  const key = recordOf[k] as KeyRecord;
  slotReq.push(reqOf[k] as IncomingMessage);
  slotToken.push(tokens[k] as string);
  slotHash.push(hashOf[k] as string);
  slotKey.push(key);
  slotModel.push(model);
  slotRoute.push(table.findRoute(key.orgId, model) as CompiledRoute);
}
/**
 * For comparison, the same random walk over a hot set of 1,000 keys (and the
 * models of their organizations): what a working set that stays in the CPU
 * caches costs, against the uniform walk over all 100,000 keys above.
 */
const HOT_KEYS = 1000;
const hotKeys = Array.from({ length: HOT_KEYS }, () => intBelow(tokens.length));
const hotReq: IncomingMessage[] = [];
const hotModel: string[] = [];
for (let i = 0; i < SLOTS; i++) {
  const k = hotKeys[intBelow(HOT_KEYS)] as number;
  const models = modelsByOrg[orgOfKey[k] as number] as string[];
  hotReq.push(reqOf[k] as IncomingMessage);
  hotModel.push(models[intBelow(models.length)] as string);
}

// ---- the loops (one function each, so every call site stays monomorphic) ----

let sink = 0;
const ns = (t0: bigint, n: number) => Number(process.hrtime.bigint() - t0) / n;

/** Requests built at a time: few enough to stay in the CPU caches, as a request just parsed is. */
const CHUNK = 4096;

/**
 * The requests of `n` iterations from `off` as the worker's HTTP server hands them to a
 * handler: a new object per request whose authorization header is a new flat string (Node's
 * parser builds it from the socket's bytes). The prebuilt requests of `slotReq` are 100,000
 * objects reached in random order, each a chain of cold objects ending in a cons string
 * (`Bearer ${token}`), which no server hands over: the "4-prebuilt" row keeps that older
 * measure for comparison.
 */
function freshRequests(from: readonly IncomingMessage[], n: number, off: number): IncomingMessage[] {
  const out: IncomingMessage[] = new Array(n);
  for (let i = 0; i < n; i++) {
    const header = (from[(off + i) & MASK] as IncomingMessage).headers.authorization as string;
    out[i] = {
      headers: { authorization: Buffer.from(header, "latin1").toString("latin1") },
    } as IncomingMessage;
  }
  return out;
}

/** Iterations `off`..`off + m` over `reqs`, the requests of the chunk (`reqs[i]` for slot `off + i`). */
type Body = (reqs: readonly IncomingMessage[], m: number, off: number) => void | Promise<void>;

/**
 * Runs `body` over `n` iterations from `off`, a chunk of fresh requests at a time, and returns
 * the mean ns per iteration with the building of the requests left out.
 */
async function overFresh(
  from: readonly IncomingMessage[],
  body: Body,
  n: number,
  off: number,
): Promise<number> {
  let elapsed = 0n;
  for (let c = 0; c < n; c += CHUNK) {
    const m = Math.min(CHUNK, n - c);
    const reqs = freshRequests(from, m, off + c);
    const t0 = process.hrtime.bigint();
    await body(reqs, m, off + c);
    elapsed += process.hrtime.bigint() - t0;
  }
  return Number(elapsed) / n;
}

/** The loop alone over fresh requests (reads each request and its slot). */
function baseline(reqs: readonly IncomingMessage[], m: number, off: number): void {
  for (let i = 0; i < m; i++) {
    const header = (reqs[i] as IncomingMessage).headers.authorization;
    sink += header === undefined ? 0 : (slotModel[(off + i) & MASK] as string).length;
  }
}

/** SHA-256 the way the worker hashed keys until 2026-11-29 (a `createHash` object per request). */
function sha256Only(n: number, off: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    sink += hashApiKey(slotToken[(off + i) & MASK] as string).toString("latin1").length;
  }
  return ns(t0, n);
}

function keyHashOnly(n: number, off: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    sink += keyHash(slotToken[(off + i) & MASK] as string).length;
  }
  return ns(t0, n);
}

function findKeyOnly(n: number, off: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    sink += (table.findKey(slotHash[(off + i) & MASK] as string) as KeyRecord).expiresAt > 0 ? 1 : 0;
  }
  return ns(t0, n);
}

function auth(reqs: readonly IncomingMessage[], m: number): void {
  for (let i = 0; i < m; i++) {
    const req = reqs[i] as IncomingMessage;
    sink += authenticate(req, table, presentedKey(req)).id.length;
  }
}

/** As the handlers call it: awaited only when it is a promise (a session token). */
async function authRequest(reqs: readonly IncomingMessage[], m: number): Promise<void> {
  for (let i = 0; i < m; i++) {
    const found = authenticateRequest(reqs[i] as IncomingMessage, deps);
    sink += (found instanceof Promise ? await found : found).id.length;
  }
}

function route(n: number, off: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = (off + i) & MASK;
    sink += routeFor(deps, slotKey[s] as KeyRecord, slotModel[s] as string).steps.length;
  }
  return ns(t0, n);
}

/** The synchronous floor of the engine's choice: weighted pick (from the route, as `engine.pick`), then the health check. */
function firstTarget(r: CompiledRoute): CompiledTarget | undefined {
  const target = pickTarget(r, undefined, Math.random);
  return target && health.barredBy(target.credential, Date.now()) === undefined ? target : undefined;
}

function pickSync(n: number, off: number): number {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    sink += firstTarget(slotRoute[(off + i) & MASK] as CompiledRoute)?.weight ?? 0;
  }
  return ns(t0, n);
}

function allSync(reqs: readonly IncomingMessage[], m: number, off: number): void {
  for (let i = 0; i < m; i++) {
    const req = reqs[i] as IncomingMessage;
    const key = authenticate(req, table, presentedKey(req));
    sink += firstTarget(routeFor(deps, key, slotModel[(off + i) & MASK] as string))?.weight ?? 0;
  }
}

/** The engine as the handlers call it: `engine.run`, whose fast path calls a healthy pick at once. */
async function engineFast(n: number, off: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const route = slotRoute[(off + i) & MASK] as CompiledRoute;
    sink += (await engine.run(route, attempt, deadline, signal)).attempts;
  }
  return ns(t0, n);
}

/**
 * What a handler runs from the request to the routing result (chat-completions.ts): the
 * key, awaited only when it is a promise; the route; the engine's fast path, else `run`.
 */
function handlerPath(models: readonly string[]): Body {
  return async (reqs, m, off) => {
    for (let i = 0; i < m; i++) {
      const found = authenticateRequest(reqs[i] as IncomingMessage, deps);
      const key = found instanceof Promise ? await found : found;
      const route = routeFor(deps, key, models[(off + i) & MASK] as string);
      sink += (await engine.run(route, attempt, deadline, signal)).attempts;
    }
  };
}

/** The headline until 2026-11-29: `authenticate` + `routeFor` + `engine.run`. */
async function decide(reqs: readonly IncomingMessage[], m: number, off: number): Promise<void> {
  for (let i = 0; i < m; i++) {
    const req = reqs[i] as IncomingMessage;
    const key = authenticate(req, table, presentedKey(req));
    const route = routeFor(deps, key, slotModel[(off + i) & MASK] as string);
    sink += (await engine.run(route, attempt, deadline, signal)).attempts;
  }
}

/** The same, measured as until 2026-11-29: on the prebuilt requests of `slotReq`. */
async function decidePrebuilt(n: number, off: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < n; i++) {
    const s = (off + i) & MASK;
    const req = slotReq[s] as IncomingMessage;
    const key = authenticate(req, table, presentedKey(req));
    const r = await engine.run(routeFor(deps, key, slotModel[s] as string), attempt, deadline, signal);
    sink += r.attempts;
  }
  return ns(t0, n);
}

/** The handlers' call until 2026-11-29: `authenticateRequest` always awaited. */
async function awaitedRequest(reqs: readonly IncomingMessage[], m: number, off: number): Promise<void> {
  for (let i = 0; i < m; i++) {
    const key = await authenticateRequest(reqs[i] as IncomingMessage, deps);
    const route = routeFor(deps, key, slotModel[(off + i) & MASK] as string);
    sink += (await engine.run(route, attempt, deadline, signal)).attempts;
  }
}

const fresh =
  (body: Body, from: readonly IncomingMessage[] = slotReq) =>
  (n: number, off: number) =>
    overFresh(from, body, n, off);

const HEADLINE = "4-handler";
const variants: Array<{
  id: string;
  name: string;
  loop: (n: number, off: number) => number | Promise<number>;
}> = [
  { id: "baseline", name: "loop only (reads the slot and its fresh request)", loop: fresh(baseline) },
  { id: "1a-sha256", name: "1a  SHA-256, createHash (the old way)", loop: sha256Only },
  { id: "1a-keyHash", name: "1a' SHA-256, keyHash (one-shot crypto.hash)", loop: keyHashOnly },
  { id: "1b-findKey", name: "1b  table.findKey(hash), 100k keys", loop: findKeyOnly },
  { id: "1-auth", name: "1   presentedKey + authenticate (hash + findKey)", loop: fresh(auth) },
  {
    id: "1-authenticateRequest",
    name: "1'  authenticateRequest, as the handlers call it",
    loop: fresh(authRequest),
  },
  { id: "2-routeFor", name: "2   routeFor(org, model)", loop: route },
  { id: "3-pick", name: "3'  first target: pickTarget + barredBy (sync)", loop: pickSync },
  { id: "3-engine", name: "3   the engine as the handlers call it (fast path)", loop: engineFast },
  { id: "4-sync", name: "4'  1 + 2 + 3' (synchronous)", loop: fresh(allSync) },
  { id: HEADLINE, name: "4   the handler's path: 1' + 2 + 3", loop: fresh(handlerPath(slotModel)) },
  { id: "4-all", name: "4a  1 + 2 + 3 (the headline before)", loop: fresh(decide) },
  { id: "4-prebuilt", name: "4b  4a on prebuilt requests (measured so before)", loop: decidePrebuilt },
  {
    id: "4-authenticateRequest",
    name: "4c  await authenticateRequest + 2 + 3 (handlers before)",
    loop: fresh(awaitedRequest),
  },
  {
    id: "4-hot-1000-keys",
    name: "4   over a hot set of 1,000 keys",
    loop: fresh(handlerPath(hotModel), hotReq),
  },
];

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

const results: Array<{
  id: string;
  name: string;
  nsMedian: number;
  nsMin: number;
  nsMax: number;
  rounds: number[];
}> = [];
console.log(`\n${"step".padEnd(52)} ${"median".padStart(9)} ${"min".padStart(8)} ${"max".padStart(8)}  (ns)`);
let offset = 0;
for (const v of variants) {
  if (ONLY.length > 0 && !ONLY.includes(v.id)) continue;
  await v.loop(WARMUP, offset);
  offset += WARMUP;
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    rounds.push(round1(await v.loop(ITERATIONS, offset)));
    offset += ITERATIONS;
  }
  const row = {
    id: v.id,
    name: v.name,
    nsMedian: median(rounds),
    nsMin: Math.min(...rounds),
    nsMax: Math.max(...rounds),
    rounds,
  };
  results.push(row);
  console.log(
    `${v.name.padEnd(52)} ${row.nsMedian.toFixed(1).padStart(9)} ${row.nsMin.toFixed(1).padStart(8)} ${row.nsMax.toFixed(1).padStart(8)}`,
  );
}

const decision = results.find((r) => r.id === HEADLINE);
const met = decision !== undefined && decision.nsMedian <= TARGET_NS;
if (decision)
  console.log(
    `\nroute decision (4): ${(decision.nsMedian / 1000).toFixed(2)} µs median; target ≤ ${TARGET_NS / 1000} µs: ${met ? "met" : "not met"}`,
  );

const out = {
  benchmark: "route-decision",
  date: new Date().toISOString(),
  machine: { ...machine(), loadAverageAtStart: loadAtStart },
  iterations: ITERATIONS,
  rounds: ROUNDS,
  warmup: WARMUP,
  randomSlots: SLOTS,
  table: {
    ...stats,
    providers: PROVIDERS,
    modelsPerOrganization: ROUTES_PER_ORG,
    /** Routes by number of primary targets (index). */
    routesByPrimaryTargets: targetsPerRoute,
    /** Routes by number of fallback steps (index). */
    routesByFallbackSteps: fallbackStepsPerRoute,
    credentialsWithHealthEntry: "one in ten of those routed to (one timeout, circuit closed)",
    /** Keys the "4-hot-1000-keys" row draws from; the other rows draw from all keys. */
    hotKeys: HOT_KEYS,
  },
  build,
  heap,
  /** Requests: built fresh, CHUNK at a time, outside the timing (all rows reading one but "4-prebuilt"). */
  requests: { fresh: true, chunk: CHUNK },
  headline: HEADLINE,
  targetNs: TARGET_NS,
  decisionNs: decision?.nsMedian,
  only: ONLY.length > 0 ? ONLY : undefined,
  met,
  results,
  sink,
};
const dir = join(projectRoot(), "bench", "results");
await mkdir(dir, { recursive: true });
const file = join(dir, stampedName("route-decision", out.date));
await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(`written to ${file}`);
