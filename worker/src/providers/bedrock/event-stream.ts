import { crc32 } from "node:zlib";

/**
 * Decoder of AWS's binary event-stream framing
 * (`application/vnd.amazon.eventstream`), which Bedrock's ConverseStream
 * answers with. Each message, integers big-endian:
 *
 * ```
 * total length u32 | headers length u32 | prelude CRC32 u32 (over the 8 bytes before)
 * headers (name_len u8, name, type u8, value)* | payload | message CRC32 u32 (over all before)
 * ```
 *
 * Frames do not follow network chunks: a chunk may hold several frames or
 * part of one, so the decoder keeps the unfinished rest for the next chunk.
 * Both CRCs are checked; a mismatch, an impossible length or a bad header
 * throws EventStreamError, after which the stream cannot be trusted.
 */

/** A header value, by wire type: booleans, integers (int64 as bigint), bytes, strings, timestamps, UUIDs (hex). */
export type HeaderValue = boolean | number | bigint | string | Buffer | Date;

/** One decoded message. */
export interface EventStreamMessage {
  headers: Record<string, HeaderValue>;
  payload: Buffer;
}

/** A frame that cannot be decoded: bad CRC, length or header. */
export class EventStreamError extends Error {
  override readonly name = "EventStreamError";
}

/** Prelude (12) + message CRC (4). */
const OVERHEAD = 16;
const PRELUDE = 12;
/** botocore's limits: headers ≤ 128 KiB, payload ≤ 24 MiB. */
const MAX_HEADERS = 128 * 1024;
const MAX_PAYLOAD = 24 * 1024 * 1024;

/** Reads one header value of `type` at `at`; returns it and the offset after it. */
function readValue(buf: Buffer, type: number, at: number): [HeaderValue, number] {
  const need = (n: number) => {
    if (at + n > buf.length) throw new EventStreamError("event-stream header value runs past the headers");
  };
  switch (type) {
    case 0:
      return [true, at];
    case 1:
      return [false, at];
    case 2:
      need(1);
      return [buf.readInt8(at), at + 1];
    case 3:
      need(2);
      return [buf.readInt16BE(at), at + 2];
    case 4:
      need(4);
      return [buf.readInt32BE(at), at + 4];
    case 5:
      need(8);
      return [buf.readBigInt64BE(at), at + 8];
    case 6:
    case 7: {
      need(2);
      const len = buf.readUInt16BE(at);
      need(2 + len);
      const bytes = buf.subarray(at + 2, at + 2 + len);
      return [type === 7 ? bytes.toString("utf8") : Buffer.from(bytes), at + 2 + len];
    }
    case 8:
      need(8);
      return [new Date(Number(buf.readBigInt64BE(at))), at + 8];
    case 9:
      need(16);
      return [buf.subarray(at, at + 16).toString("hex"), at + 16];
    default:
      throw new EventStreamError(`event-stream header of unknown type ${type}`);
  }
}

/** Parses the header block of one message. */
export function parseHeaders(buf: Buffer): Record<string, HeaderValue> {
  const headers: Record<string, HeaderValue> = {};
  let at = 0;
  while (at < buf.length) {
    const nameLen = buf.readUInt8(at);
    if (nameLen === 0 || at + 1 + nameLen + 1 > buf.length) {
      throw new EventStreamError("event-stream header name runs past the headers");
    }
    const name = buf.subarray(at + 1, at + 1 + nameLen).toString("utf8");
    const type = buf.readUInt8(at + 1 + nameLen);
    const [value, next] = readValue(buf, type, at + 2 + nameLen);
    headers[name] = value;
    at = next;
  }
  return headers;
}

/** Checks the prelude of the message at `at` (12 bytes available) and returns its total length. */
function checkPrelude(data: Buffer, at: number): number {
  const total = data.readUInt32BE(at);
  const headersLen = data.readUInt32BE(at + 4);
  if (crc32(data.subarray(at, at + 8)) !== data.readUInt32BE(at + 8)) {
    throw new EventStreamError("event-stream prelude CRC mismatch");
  }
  if (total < OVERHEAD || headersLen > MAX_HEADERS || total - OVERHEAD - headersLen > MAX_PAYLOAD) {
    throw new EventStreamError(`event-stream message of impossible length ${total}`);
  }
  if (headersLen > total - OVERHEAD)
    throw new EventStreamError("event-stream headers longer than the message");
  return total;
}

/** Decodes one complete message (`frame` is exactly its bytes). */
export function decodeMessage(frame: Buffer): EventStreamMessage {
  if (frame.length < OVERHEAD) throw new EventStreamError("event-stream message shorter than its prelude");
  const total = checkPrelude(frame, 0);
  if (total !== frame.length) throw new EventStreamError("event-stream message length mismatch");
  if (crc32(frame.subarray(0, total - 4)) !== frame.readUInt32BE(total - 4)) {
    throw new EventStreamError("event-stream message CRC mismatch");
  }
  const headersLen = frame.readUInt32BE(4);
  return {
    headers: parseHeaders(frame.subarray(PRELUDE, PRELUDE + headersLen)),
    payload: frame.subarray(PRELUDE + headersLen, total - 4),
  };
}

/** A stateful decoder for one stream. */
export interface EventStreamDecoder {
  /** The messages completed by `chunk` (possibly none). Throws EventStreamError on a bad frame. */
  push(chunk: Buffer): EventStreamMessage[];
  /** Bytes held for an unfinished message. */
  pendingBytes(): number;
}

/** A decoder for one event stream; `chunk`s are never modified. */
export function createEventStreamDecoder(): EventStreamDecoder {
  let pending: Buffer | undefined;
  /** Whether the prelude of the pending message was already checked. */
  let preludeChecked = false;
  return {
    push(chunk) {
      const data = pending ? Buffer.concat([pending, chunk]) : chunk;
      pending = undefined;
      const out: EventStreamMessage[] = [];
      let at = 0;
      while (data.length - at >= PRELUDE) {
        // Checking the prelude first rejects garbage without waiting for its claimed length.
        const total = preludeChecked ? data.readUInt32BE(at) : checkPrelude(data, at);
        preludeChecked = true;
        if (data.length - at < total) break;
        out.push(decodeMessage(data.subarray(at, at + total)));
        preludeChecked = false;
        at += total;
      }
      // Copied so that a small rest does not pin a large chunk.
      if (at < data.length) pending = Buffer.from(data.subarray(at));
      return out;
    },
    pendingBytes: () => pending?.length ?? 0,
  };
}
