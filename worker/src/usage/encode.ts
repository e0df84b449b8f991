/**
 * A usage event as the request path knows it, encoded at once as the
 * protobuf bytes of llmgateway.v1.UsageEvent. The reporter buffers those
 * bytes and sends them as IngestUsageRequestWire (the control plane reads
 * IngestUsageRequest: same field numbers, same wire). protobuf-es's
 * reflective `toBinary` cost about 30-60 µs per event of the batch
 * (bench/usage-encoding.ts); this costs about one, and leaves one small
 * byte array per buffered event for the garbage collector instead of an
 * object graph with BigInts.
 *
 * Field numbers follow proto/llmgateway/v1/worker_service.proto; a test
 * decodes the output with the generated schema and compares every field.
 */
export interface UsageRecord {
  requestId: string;
  orgId: string;
  apiKeyId: string;
  userId: string;
  provider: string;
  credentialId: string;
  requestedModel: string;
  servedModel: string;
  requestType: string;
  streamed: boolean;
  statusCode: number;
  errorCode: string;
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** epoch milliseconds (an integer) */
  startedAtMs: number;
  durationMs: number;
  providerDurationMs: number;
  timeToFirstTokenMs: number;
  attempts: number;
  routingVersion: number;
  estimatedCostUsd: number;
  /** an ErrorClass value */
  errorClass: number;
  fallbackDepth: number;
}

const VARINT = 0;
const FIXED64 = 1;
const LENGTH = 2;

/** Room for everything but the strings: 25 tags, varints of ≤ 10 bytes, 4 doubles, the timestamp. */
const FIXED_BOUND = 400;

let scratch = Buffer.allocUnsafe(16 * 1024);
let pos = 0;

function varint(v: number): void {
  // non-negative integers up to 2^53: no bitwise operators past 2^31
  while (v > 127) {
    scratch[pos++] = (v % 128) | 128;
    v = Math.floor(v / 128);
  }
  scratch[pos++] = v;
}

function tag(field: number, wire: number): void {
  varint((field << 3) | wire);
}

/** An unsigned integer field; 0 (the default, not written), negatives and NaN are left out. */
function uint(field: number, v: number): void {
  if (!(v >= 1)) return;
  tag(field, VARINT);
  varint(Math.trunc(v));
}

function str(field: number, s: string): void {
  const length = s.length;
  if (length === 0) return;
  tag(field, LENGTH);
  if (length < 128) {
    // ids, provider and model names are ASCII: copied char by char, a one-byte length
    const at = pos + 1;
    let i = 0;
    for (; i < length; i++) {
      const c = s.charCodeAt(i);
      if (c > 127) break;
      scratch[at + i] = c;
    }
    if (i === length) {
      scratch[pos] = length;
      pos = at + length;
      return;
    }
  }
  const n = Buffer.byteLength(s, "utf8");
  varint(n);
  pos += scratch.write(s, pos, n, "utf8");
}

function double(field: number, v: number): void {
  if (v === 0 || Number.isNaN(v)) return;
  tag(field, FIXED64);
  scratch.writeDoubleLE(v, pos);
  pos += 8;
}

/** The event's bytes (a copy, from Node's pooled small-buffer slabs: the caller keeps it). */
export function encodeUsageEvent(r: UsageRecord): Uint8Array {
  const strings =
    r.requestId.length +
    r.orgId.length +
    r.apiKeyId.length +
    r.userId.length +
    r.provider.length +
    r.credentialId.length +
    r.requestedModel.length +
    r.servedModel.length +
    r.requestType.length +
    r.errorCode.length;
  const bound = FIXED_BOUND + 3 * strings + 50; // ≤ 3 UTF-8 bytes per UTF-16 unit, 5 per length prefix
  if (bound > scratch.length) scratch = Buffer.allocUnsafe(Math.max(bound, 2 * scratch.length));
  pos = 0;
  str(1, r.requestId);
  str(2, r.orgId);
  str(3, r.apiKeyId);
  str(4, r.userId);
  str(5, r.provider);
  str(6, r.credentialId);
  str(7, r.requestedModel);
  str(8, r.servedModel);
  str(9, r.requestType);
  if (r.streamed) {
    tag(10, VARINT);
    scratch[pos++] = 1;
  }
  uint(11, r.statusCode);
  str(12, r.errorCode);
  uint(13, r.promptTokens);
  uint(14, r.completionTokens);
  uint(15, r.cachedTokens);
  uint(16, r.reasoningTokens);
  // started_at: google.protobuf.Timestamp { int64 seconds = 1; int32 nanos = 2; }, always present
  const seconds = Math.floor(r.startedAtMs / 1000);
  const nanos = (r.startedAtMs - seconds * 1000) * 1_000_000;
  tag(17, LENGTH);
  const lengthAt = pos++;
  const start = pos;
  uint(1, seconds);
  uint(2, nanos);
  scratch[lengthAt] = pos - start; // at most 1 + 10 + 1 + 5 bytes: one length byte
  double(18, r.durationMs);
  double(19, r.providerDurationMs);
  double(20, r.timeToFirstTokenMs);
  uint(21, r.attempts);
  uint(22, r.routingVersion);
  double(23, r.estimatedCostUsd);
  uint(24, r.errorClass);
  uint(25, r.fallbackDepth);
  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  return out;
}
