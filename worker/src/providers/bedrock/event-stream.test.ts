import { crc32 } from "node:zlib";
import { describe, expect, it } from "vitest";
import { encodeMessage, eventFrame } from "../../../../mock-provider/src/protocols/event-stream.js";
import { createEventStreamDecoder, decodeMessage, EventStreamError, parseHeaders } from "./event-stream.js";

// The verified frame of provider-formats.md §5.6 (decoded there with botocore's EventStreamBuffer).
const REFERENCE = Buffer.from(
  [
    "000000a2000000579acad7c8",
    "0b3a6576656e742d747970650700116" + "36f6e74656e74426c6f636b44656c7461",
    "0d3a636f6e74656e742d7479706507001061" + "70706c69636174696f6e2f6a736f6e",
    "0d3a6d6573736167652d747970650700056576656e74",
    "7b22636f6e74656e74426c6f636b496e646578223a302c2264656c7461223a7b2274657874223a2248656c6c6f227d2c2270223a2261626364227d",
    "1ee2dd14",
  ].join(""),
  "hex",
);
const REFERENCE_PAYLOAD = '{"contentBlockIndex":0,"delta":{"text":"Hello"},"p":"abcd"}';

describe("event-stream decoding", () => {
  it("decodes the reference frame, both CRCs checked", () => {
    expect(crc32("123456789")).toBe(0xcbf43926);
    const m = decodeMessage(REFERENCE);
    expect(m.headers).toEqual({
      ":event-type": "contentBlockDelta",
      ":content-type": "application/json",
      ":message-type": "event",
    });
    expect(m.payload.toString()).toBe(REFERENCE_PAYLOAD);
  });

  it("the mock's encoder writes the reference frame byte for byte", () => {
    const headers = {
      ":event-type": "contentBlockDelta",
      ":content-type": "application/json",
      ":message-type": "event",
    };
    expect(encodeMessage(headers, REFERENCE_PAYLOAD).equals(REFERENCE)).toBe(true);
  });

  const three = Buffer.concat([
    eventFrame("messageStart", { role: "assistant" }),
    REFERENCE,
    eventFrame("messageStop", { stopReason: "end_turn", note: "é✓" }),
  ]);

  it("decodes several frames in one chunk", () => {
    const out = createEventStreamDecoder().push(three);
    expect(out.map((m) => m.headers[":event-type"])).toEqual([
      "messageStart",
      "contentBlockDelta",
      "messageStop",
    ]);
  });

  it("decodes the same frames cut at every byte offset, and in one-byte pieces", () => {
    for (let cut = 1; cut < three.length; cut++) {
      const d = createEventStreamDecoder();
      const out = [...d.push(three.subarray(0, cut)), ...d.push(three.subarray(cut))];
      expect(out).toHaveLength(3);
      expect(d.pendingBytes()).toBe(0);
    }
    const d = createEventStreamDecoder();
    const out = [];
    for (let i = 0; i < three.length; i++) out.push(...d.push(three.subarray(i, i + 1)));
    expect(out.map((m) => m.payload.toString())).toEqual([
      '{"role":"assistant"}',
      REFERENCE_PAYLOAD,
      '{"stopReason":"end_turn","note":"é✓"}',
    ]);
  });

  it("holds an unfinished frame", () => {
    const d = createEventStreamDecoder();
    expect(d.push(REFERENCE.subarray(0, 40))).toEqual([]);
    expect(d.pendingBytes()).toBe(40);
  });

  it.each([
    ["the prelude CRC", 9],
    ["a header byte", 20],
    ["a payload byte", 120],
    ["the message CRC", REFERENCE.length - 1],
  ])("refuses a frame with a corrupted %s", (_what, at) => {
    const bad = Buffer.from(REFERENCE);
    bad[at] = (bad[at] as number) ^ 0x01;
    expect(() => createEventStreamDecoder().push(bad)).toThrow(EventStreamError);
  });

  it("refuses garbage at once rather than waiting for its claimed length", () => {
    expect(() => createEventStreamDecoder().push(Buffer.from("<html><body>502 Bad Gateway"))).toThrow(
      EventStreamError,
    );
  });

  it("refuses a prelude whose lengths cannot be", () => {
    const prelude = Buffer.alloc(12);
    prelude.writeUInt32BE(10, 0); // shorter than the 16-byte overhead
    prelude.writeUInt32BE(0, 4);
    prelude.writeUInt32BE(crc32(prelude.subarray(0, 8)), 8);
    expect(() => createEventStreamDecoder().push(prelude)).toThrow(/impossible length/);
  });

  it("reads every header type", () => {
    const parts = [
      Buffer.from([1, 0x61, 0]), // a: true
      Buffer.from([1, 0x62, 1]), // b: false
      Buffer.from([1, 0x63, 2, 0xff]), // c: byte -1
      Buffer.from([1, 0x64, 3, 0x01, 0x00]), // d: int16 256
      Buffer.from([1, 0x65, 4, 0, 0, 0x01, 0x00]), // e: int32 256
      Buffer.from([1, 0x66, 5, 0, 0, 0, 0, 0, 0, 0x01, 0x00]), // f: int64 256n
      Buffer.from([1, 0x67, 6, 0, 2, 0xde, 0xad]), // g: bytes
      Buffer.from([1, 0x68, 7, 0, 2, 0x68, 0x69]), // h: "hi"
      Buffer.from([1, 0x69, 8, 0, 0, 0, 0, 0, 0, 0x03, 0xe8]), // i: timestamp 1000 ms
      Buffer.concat([Buffer.from([1, 0x6a, 9]), Buffer.alloc(16, 0xab)]), // j: uuid
    ];
    expect(parseHeaders(Buffer.concat(parts))).toEqual({
      a: true,
      b: false,
      c: -1,
      d: 256,
      e: 256,
      f: 256n,
      g: Buffer.from([0xde, 0xad]),
      h: "hi",
      i: new Date(1000),
      j: "ab".repeat(16),
    });
    expect(() => parseHeaders(Buffer.from([1, 0x61, 10]))).toThrow(/unknown type 10/);
    expect(() => parseHeaders(Buffer.from([1, 0x61, 7, 0, 9, 0x61]))).toThrow(EventStreamError);
  });
});
