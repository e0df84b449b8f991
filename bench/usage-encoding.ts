/**
 * What delivering one usage event costs the worker's CPU, in-process:
 *
 *   node dist/bench/usage-encoding.js [--batches 200] [--rounds 5]
 *
 * For a batch of 1,000 realistic events (distinct UUIDs), per event:
 * 1. before: the event as a protobuf-es message literal (BigInts and a
 *    Timestamp message, as the worker built it until now), and the batch
 *    encoded by `toBinary(IngestUsageRequestSchema)` (what the Connect client
 *    did on every IngestUsage call);
 * 2. now: `encodeUsageEvent` when the request ends, and the batch of bytes
 *    encoded as IngestUsageRequestWire.
 * Checks the two batches are the same bytes, reports the median ns per
 * event over the rounds and the heap each way holds for a full ring of
 * 50,000 buffered events. Writes bench/results/usage-encoding-<timestamp>.json.
 */
import { randomUUID } from "node:crypto";
import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { setFlagsFromString } from "node:v8";
import { runInNewContext } from "node:vm";
import { create, toBinary } from "@bufbuild/protobuf";
import { projectRoot } from "../lib/src/paths.js";
import {
  IngestUsageRequestSchema,
  IngestUsageRequestWireSchema,
  type UsageEvent,
} from "../proto/gen/llmgateway/v1/worker_service_pb.js";
import { encodeUsageEvent, type UsageRecord } from "../worker/src/usage/encode.js";
import { arg } from "./lib/args.js";
import { machine, stampedName } from "./lib/machine.js";

const BATCHES = Number(arg("batches", "200"));
const ROUNDS = Number(arg("rounds", "5"));
const BATCH = 1000;

setFlagsFromString("--expose-gc");
const gc = runInNewContext("gc") as () => void;

const record = (i: number): UsageRecord => ({
  requestId: randomUUID(),
  orgId: randomUUID(),
  apiKeyId: randomUUID(),
  userId: i % 3 === 0 ? `user-${i}` : "",
  provider: "openai-compatible",
  credentialId: randomUUID(),
  requestedModel: "bench-model",
  servedModel: "mock-small",
  requestType: "chat",
  streamed: i % 4 === 0,
  statusCode: i % 50 === 0 ? 502 : 200,
  errorCode: i % 50 === 0 ? "upstream_error" : "",
  promptTokens: 12 + (i % 100),
  completionTokens: 20 + (i % 300),
  cachedTokens: 0,
  reasoningTokens: 0,
  startedAtMs: 1_764_440_000_000 + i,
  durationMs: 1.234 + i / 1000,
  providerDurationMs: 0.8,
  timeToFirstTokenMs: i % 4 === 0 ? 3.5 : 0,
  attempts: 1,
  routingVersion: 42,
  estimatedCostUsd: 0.00012,
  errorClass: i % 50 === 0 ? 3 : 0,
  fallbackDepth: 0,
});

/** The event as the worker built it before: a protobuf-es literal. */
const message = (r: UsageRecord): UsageEvent => ({
  $typeName: "llmgateway.v1.UsageEvent",
  ...r,
  promptTokens: BigInt(r.promptTokens),
  completionTokens: BigInt(r.completionTokens),
  cachedTokens: BigInt(r.cachedTokens),
  reasoningTokens: BigInt(r.reasoningTokens),
  routingVersion: BigInt(r.routingVersion),
  startedAt: {
    $typeName: "google.protobuf.Timestamp",
    seconds: BigInt(Math.floor(r.startedAtMs / 1000)),
    nanos: (r.startedAtMs % 1000) * 1_000_000,
  },
});

const records = Array.from({ length: BATCH }, (_, i) => record(i));
const before = () =>
  toBinary(
    IngestUsageRequestSchema,
    create(IngestUsageRequestSchema, { workerId: "w", events: records.map(message) }),
  );
const after = () =>
  toBinary(
    IngestUsageRequestWireSchema,
    create(IngestUsageRequestWireSchema, { workerId: "w", events: records.map(encodeUsageEvent) }),
  );
if (!Buffer.from(before()).equals(Buffer.from(after()))) throw new Error("the two encodings differ");

function nsPerEvent(run: () => Uint8Array): number {
  const start = process.hrtime.bigint();
  for (let b = 0; b < BATCHES; b++) run();
  return Number(process.hrtime.bigint() - start) / (BATCHES * BATCH);
}

function heldBytes(build: () => unknown[]): number {
  gc();
  const start = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers;
  const held = build();
  gc();
  const bytes = process.memoryUsage().heapUsed + process.memoryUsage().arrayBuffers - start;
  if (held.length === 0) throw new Error("nothing held");
  return Math.round(bytes / held.length);
}

for (let i = 0; i < 20; i++) {
  before();
  after();
}
const rounds: Array<{ before: number; after: number }> = [];
for (let r = 0; r < ROUNDS; r++) rounds.push({ before: nsPerEvent(before), after: nsPerEvent(after) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] as number;
const RING = 50_000;
const results = {
  nsPerEvent: {
    messageAndToBinary: Math.round(median(rounds.map((r) => r.before))),
    encodeUsageEventAndWire: Math.round(median(rounds.map((r) => r.after))),
  },
  heapBytesPerBufferedEvent: {
    message: heldBytes(() => Array.from({ length: RING }, (_, i) => message(record(i)))),
    bytes: heldBytes(() => Array.from({ length: RING }, (_, i) => encodeUsageEvent(record(i)))),
  },
  rounds,
};
const out = {
  benchmark: "usage-encoding",
  date: new Date().toISOString(),
  machine: machine(),
  BATCHES,
  results,
};
const dir = join(projectRoot(), "bench", "results");
await mkdir(dir, { recursive: true });
const file = join(dir, stampedName("usage-encoding", out.date));
await writeFile(file, `${JSON.stringify(out, null, 2)}\n`);
console.log(JSON.stringify(results.nsPerEvent), JSON.stringify(results.heapBytesPerBufferedEvent));
console.log(`written to ${file}`);
