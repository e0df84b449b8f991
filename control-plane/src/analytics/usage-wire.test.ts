import { randomUUID } from "node:crypto";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { BinaryWriter } from "@bufbuild/protobuf/wire";
import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  IngestUsageRequestSchema,
  IngestUsageRequestWireSchema,
  type UsageEvent,
  UsageEventSchema,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { usageRecords } from "./usage-rows.js";
import { decodeUsageEvent } from "./usage-wire.js";

/** What fromBinary gives, with uint64 as numbers and started_at as plain fields, for comparison. */
function expected(e: UsageEvent) {
  const { $typeName, $unknown, startedAt, ...rest } = e;
  return {
    ...rest,
    promptTokens: Number(e.promptTokens),
    completionTokens: Number(e.completionTokens),
    cachedTokens: Number(e.cachedTokens),
    reasoningTokens: Number(e.reasoningTokens),
    routingVersion: Number(e.routingVersion),
    startedAt: startedAt ? { seconds: Number(startedAt.seconds), nanos: startedAt.nanos } : undefined,
  };
}

const sameAsProtobufEs = (bytes: Uint8Array) =>
  expect(decodeUsageEvent(bytes)).toEqual(expected(fromBinary(UsageEventSchema, bytes)));

function randomEvent(i: number): UsageEvent {
  const pick = <T>(xs: T[]) => xs[i % xs.length] as T;
  return create(UsageEventSchema, {
    requestId: pick([randomUUID(), `req-${i}`, "ü-ß-中文-😀", ""]),
    orgId: randomUUID(),
    apiKeyId: pick(["", randomUUID()]),
    userId: pick(["", "user@example.com", "Zoë"]),
    provider: pick(["openai", "anthropic", ""]),
    credentialId: pick([randomUUID(), ""]),
    requestedModel: "x".repeat(i % 200),
    servedModel: pick(["gpt-4o-mini", "claude-sonnet-4", ""]),
    requestType: pick(["chat", "embeddings", "speech"]),
    streamed: i % 2 === 0,
    statusCode: pick([200, 429, 502, 0, 4_294_967_295]),
    errorCode: pick(["", "upstream_timeout"]),
    promptTokens: pick([0n, 1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n + 1n, 2n ** 64n - 1n]),
    completionTokens: BigInt(i * 7919),
    cachedTokens: pick([0n, 300n]),
    reasoningTokens: pick([0n, 2n ** 40n]),
    startedAt: pick([
      undefined,
      { seconds: 1_764_440_000n + BigInt(i), nanos: (i * 1_234_567) % 1_000_000_000 },
      { seconds: -62_135_596_800n, nanos: 0 },
      { seconds: 0n, nanos: 999_999_999 },
    ]),
    durationMs: pick([0, 1.5, 12_345.678, -0.25, 1e300]),
    providerDurationMs: i * 0.1,
    timeToFirstTokenMs: pick([0, 150]),
    attempts: pick([0, 1, 3]),
    routingVersion: BigInt(i),
    estimatedCostUsd: pick([0, 0.000_123_4, 12.5]),
    errorClass: pick([ErrorClass.UNSPECIFIED, ErrorClass.RATE_LIMITED, ErrorClass.UNAVAILABLE, 99]),
    fallbackDepth: i % 9,
  });
}

describe("decodeUsageEvent", () => {
  it("reads what protobuf-es encodes as protobuf-es reads it", () => {
    for (let i = 0; i < 500; i++) sameAsProtobufEs(toBinary(UsageEventSchema, randomEvent(i)));
  });

  it("reads an empty event as all defaults", () => {
    sameAsProtobufEs(new Uint8Array(0));
  });

  it("skips unknown fields of every wire type, as a newer worker may send them", () => {
    const w = new BinaryWriter();
    w.tag(1, 2).string("req-1");
    w.tag(100, 0).uint64(2n ** 63n);
    w.tag(101, 1).fixed64(5n);
    w.tag(102, 2).bytes(new Uint8Array([1, 2, 3]));
    w.tag(103, 5).fixed32(7);
    w.tag(104, 3).tag(1, 0).int32(1).tag(104, 4); // a group
    w.tag(11, 0).uint32(200);
    const bytes = w.finish();
    sameAsProtobufEs(bytes);
    expect(decodeUsageEvent(bytes)).toMatchObject({ requestId: "req-1", statusCode: 200 });
  });

  it("keeps a repeated scalar's last value and merges a repeated started_at", () => {
    const w = new BinaryWriter();
    w.tag(11, 0).uint32(500).tag(11, 0).uint32(200);
    w.tag(17, 2).fork().tag(1, 0).int64(1000n).join();
    w.tag(17, 2).fork().tag(2, 0).int32(5).join();
    const bytes = w.finish();
    sameAsProtobufEs(bytes);
    expect(decodeUsageEvent(bytes)).toMatchObject({
      statusCode: 200,
      startedAt: { seconds: 1000, nanos: 5 },
    });
  });

  it("reuses a repeated string only for the same bytes, also when a buffer is reused for other bytes", () => {
    const a = toBinary(UsageEventSchema, create(UsageEventSchema, { orgId: "org-a", provider: "openai" }));
    const b = toBinary(UsageEventSchema, create(UsageEventSchema, { orgId: "org-b", provider: "openai" }));
    const memory = new Uint8Array(a.length);
    memory.set(a);
    expect(decodeUsageEvent(memory)).toMatchObject({ orgId: "org-a", provider: "openai" });
    memory.set(b); // the same memory, now another event (as a pooled request buffer could be)
    expect(decodeUsageEvent(memory)).toMatchObject({ orgId: "org-b", provider: "openai" });
    expect(decodeUsageEvent(a)).toMatchObject({ orgId: "org-a" });
  });

  it("refuses malformed bytes", () => {
    const ok = toBinary(UsageEventSchema, create(UsageEventSchema, { requestId: randomUUID() }));
    expect(() => decodeUsageEvent(ok.subarray(0, 10))).toThrow(/past the end/);
    expect(() => decodeUsageEvent(new Uint8Array([0x58, 0xc8]))).toThrow(/truncated/); // status_code varint cut
    expect(() => decodeUsageEvent(new Uint8Array([0x0a, 0x02, 0xff, 0xfe]))).toThrow(/UTF-8/);
    expect(() => decodeUsageEvent(new Uint8Array([0x08, 0x01]))).toThrow(/wire type/); // request_id as varint
    expect(() => decodeUsageEvent(new Uint8Array([0x00]))).toThrow(/field number 0/);
    expect(() => decodeUsageEvent(new Uint8Array([0x0f]))).toThrow(/wire type 7/);
  });

  it("gives the same usage records as the generated schema, read from one request body", () => {
    const events = Array.from({ length: 200 }, (_, i) => randomEvent(i));
    for (const [i, e] of events.entries()) {
      // usageRecords refuses what IngestUsage refuses; keep the events it accepts
      e.orgId = e.orgId || randomUUID();
      e.requestId = e.requestId || randomUUID();
      if ((e.errorClass as number) === 99) e.errorClass = ErrorClass.UNSPECIFIED;
      e.durationMs = Math.min(e.durationMs, 1e9);
      e.startedAt = { $typeName: "google.protobuf.Timestamp", seconds: 1_764_440_000n, nanos: i * 1000 };
    }
    const body = toBinary(
      IngestUsageRequestSchema,
      create(IngestUsageRequestSchema, { workerId: "w", events }),
    );
    const generated = usageRecords("w", fromBinary(IngestUsageRequestSchema, body).events).records;
    const wire = fromBinary(IngestUsageRequestWireSchema, body).events.map(decodeUsageEvent);
    expect(usageRecords("w", wire).records).toEqual(generated);
  });
});
