/**
 * Encoder of AWS's binary event-stream framing
 * (`application/vnd.amazon.eventstream`), as Bedrock's ConverseStream sends
 * it: `total u32 | headers length u32 | prelude CRC32 | headers | payload |
 * message CRC32`, big-endian, headers as strings (type 7). Used by the mock's
 * Bedrock protocol and to build the golden fixtures' `upstream-response.bin`.
 */
import { crc32 } from "node:zlib";

/** The bytes of one header block: `name_len u8, name, 7, value_len u16, value` per header. */
function encodeHeaders(headers: Readonly<Record<string, string>>): Buffer {
  const parts: Buffer[] = [];
  for (const [name, value] of Object.entries(headers)) {
    const n = Buffer.from(name, "utf8");
    const v = Buffer.from(value, "utf8");
    if (n.length === 0 || n.length > 255)
      throw new RangeError(`event-stream header name of ${n.length} bytes`);
    if (v.length > 0xffff) throw new RangeError(`event-stream header ${name} longer than 65535 bytes`);
    const head = Buffer.alloc(1 + n.length + 3);
    head.writeUInt8(n.length, 0);
    n.copy(head, 1);
    head.writeUInt8(7, 1 + n.length);
    head.writeUInt16BE(v.length, 2 + n.length);
    parts.push(head, v);
  }
  return Buffer.concat(parts);
}

/** One event-stream message with both CRCs. */
export function encodeMessage(headers: Readonly<Record<string, string>>, payload: Buffer | string): Buffer {
  const h = encodeHeaders(headers);
  const p = typeof payload === "string" ? Buffer.from(payload, "utf8") : payload;
  const total = 16 + h.length + p.length;
  const out = Buffer.alloc(total);
  out.writeUInt32BE(total, 0);
  out.writeUInt32BE(h.length, 4);
  out.writeUInt32BE(crc32(out.subarray(0, 8)), 8);
  h.copy(out, 12);
  p.copy(out, 12 + h.length);
  out.writeUInt32BE(crc32(out.subarray(0, total - 4)), total - 4);
  return out;
}

/** A ConverseStream event (`:event-type` = `type`) with a JSON payload. */
export function eventFrame(type: string, payload: unknown): Buffer {
  return encodeMessage(
    { ":event-type": type, ":content-type": "application/json", ":message-type": "event" },
    JSON.stringify(payload),
  );
}

/** A modeled exception (`:exception-type` = e.g. `throttlingException`) with `{"message"}`. */
export function exceptionFrame(type: string, message: string): Buffer {
  return encodeMessage(
    { ":exception-type": type, ":content-type": "application/json", ":message-type": "exception" },
    JSON.stringify({ message }),
  );
}

/** An unmodeled error: `:message-type` error with `:error-code` and `:error-message`, no payload. */
export function errorFrame(code: string, message: string): Buffer {
  return encodeMessage({ ":error-code": code, ":error-message": message, ":message-type": "error" }, "");
}
