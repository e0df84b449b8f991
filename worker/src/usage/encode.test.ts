import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  IngestUsageRequestSchema,
  IngestUsageRequestWireSchema,
  UsageEventSchema,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { encodeUsageEvent, type UsageRecord } from "./encode.js";

const base: UsageRecord = {
  requestId: "0b8f3f7e-3c55-4c1e-9d7e-6c9f3f0a1b2c",
  orgId: "5a0e6a3c-1111-4222-8333-944455556666",
  apiKeyId: "7f1c2d3e-aaaa-4bbb-8ccc-dddd00001111",
  userId: "",
  provider: "openai-compatible",
  credentialId: "c0ffee00-1234-4567-89ab-cdef01234567",
  requestedModel: "gpt-4o-mini",
  servedModel: "mock-small",
  requestType: "chat",
  streamed: false,
  statusCode: 200,
  errorCode: "",
  promptTokens: 12,
  completionTokens: 20,
  cachedTokens: 0,
  reasoningTokens: 0,
  startedAtMs: 1_764_440_000_123,
  durationMs: 1.234,
  providerDurationMs: 0.8,
  timeToFirstTokenMs: 0,
  attempts: 1,
  routingVersion: 42,
  estimatedCostUsd: 0.00012,
  errorClass: 0,
  fallbackDepth: 0,
};

/** What protobuf-es encodes for the same event. */
function reference(r: UsageRecord): Uint8Array {
  const seconds = Math.floor(r.startedAtMs / 1000);
  return toBinary(
    UsageEventSchema,
    create(UsageEventSchema, {
      ...r,
      promptTokens: BigInt(r.promptTokens),
      completionTokens: BigInt(r.completionTokens),
      cachedTokens: BigInt(r.cachedTokens),
      reasoningTokens: BigInt(r.reasoningTokens),
      routingVersion: BigInt(r.routingVersion),
      startedAt: { seconds: BigInt(seconds), nanos: (r.startedAtMs - seconds * 1000) * 1_000_000 },
    }),
  );
}

const variants: Array<[string, Partial<UsageRecord>]> = [
  ["a plain success", {}],
  [
    "a streamed failure with every field set",
    {
      userId: "user-7",
      streamed: true,
      statusCode: 502,
      errorCode: "upstream_error",
      errorClass: 3,
      cachedTokens: 5,
      reasoningTokens: 7,
      timeToFirstTokenMs: 12.5,
      attempts: 3,
      fallbackDepth: 2,
    },
  ],
  ["all defaults", { ...Object.fromEntries(Object.keys(base).map((k) => [k, ""])), ...zeros() }],
  ["non-ASCII model names", { requestedModel: "modèle-ü-日本語-🚀", servedModel: "ñ" }],
  ["a model name longer than the scratch buffer", { requestedModel: "m".repeat(40_000) + "é".repeat(5000) }],
  [
    "values past 2^31 and 2^32",
    { routingVersion: 2 ** 40 + 3, promptTokens: 3_000_000_000, completionTokens: 2 ** 31 },
  ],
  ["a start on a whole second", { startedAtMs: 1_764_440_000_000 }],
  ["the epoch", { startedAtMs: 0 }],
];

function zeros(): Partial<UsageRecord> {
  return {
    streamed: false,
    statusCode: 0,
    promptTokens: 0,
    completionTokens: 0,
    cachedTokens: 0,
    reasoningTokens: 0,
    startedAtMs: 0,
    durationMs: 0,
    providerDurationMs: 0,
    timeToFirstTokenMs: 0,
    attempts: 0,
    routingVersion: 0,
    estimatedCostUsd: 0,
    errorClass: 0,
    fallbackDepth: 0,
  };
}

describe("encodeUsageEvent", () => {
  it.each(variants)("encodes %s exactly as protobuf-es does", (_name, change) => {
    const r = { ...base, ...change } as UsageRecord;
    const bytes = encodeUsageEvent(r);
    expect(Buffer.from(bytes).equals(Buffer.from(reference(r)))).toBe(true);
    const decoded = fromBinary(UsageEventSchema, bytes);
    expect(decoded.requestedModel).toBe(r.requestedModel);
    expect(decoded.routingVersion).toBe(BigInt(r.routingVersion));
    expect(Number(decoded.startedAt?.seconds ?? 0n) * 1000 + (decoded.startedAt?.nanos ?? 0) / 1e6).toBe(
      r.startedAtMs,
    );
  });

  it("returns a copy each time (the scratch buffer is reused)", () => {
    const a = encodeUsageEvent({ ...base, requestId: "a" });
    const b = encodeUsageEvent({ ...base, requestId: "b" });
    expect(fromBinary(UsageEventSchema, a).requestId).toBe("a");
    expect(fromBinary(UsageEventSchema, b).requestId).toBe("b");
  });

  it("leaves out what protobuf could not carry as unsigned (negative, NaN)", () => {
    const decoded = fromBinary(
      UsageEventSchema,
      encodeUsageEvent({ ...base, promptTokens: -1, attempts: Number.NaN, durationMs: Number.NaN }),
    );
    expect(decoded.promptTokens).toBe(0n);
    expect(decoded.attempts).toBe(0);
    expect(decoded.durationMs).toBe(0);
  });
});

describe("IngestUsageRequestWire", () => {
  it("is read by the control plane as IngestUsageRequest with the same events", () => {
    const records = variants.map(([, change]) => ({ ...base, ...change }) as UsageRecord);
    const wire = toBinary(
      IngestUsageRequestWireSchema,
      create(IngestUsageRequestWireSchema, { workerId: "w-1", events: records.map(encodeUsageEvent) }),
    );
    const read = fromBinary(IngestUsageRequestSchema, wire);
    expect(read.workerId).toBe("w-1");
    expect(read.events.map((e) => e.requestedModel)).toEqual(records.map((r) => r.requestedModel));
    expect(read.events.map((e) => toBinary(UsageEventSchema, e))).toEqual(records.map(reference));
  });
});
