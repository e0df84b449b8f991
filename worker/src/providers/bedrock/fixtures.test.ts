import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  errorFrame,
  eventFrame,
  exceptionFrame,
} from "../../../../mock-provider/src/protocols/event-stream.js";
import { FIXTURES_DIR } from "../../../../test/helpers/provider-fixtures.js";
import { createEventStreamDecoder } from "./event-stream.js";

/**
 * The binary stream fixtures (`upstream-response.bin`) are the event-stream
 * encoding of the readable `upstream-events.json` beside them, built with
 * the mock's encoder. `UPDATE_GOLDEN=1` rewrites the .bin files; otherwise
 * this checks they match and decode back to the events.
 */

type FixtureEvent =
  | { event: string; payload: unknown }
  | { exception: string; message: string }
  | { error: string; message: string }
  | { corruptCrc: { event: string; payload: unknown } };

function encode(e: FixtureEvent): Buffer {
  if ("event" in e) return eventFrame(e.event, e.payload);
  if ("exception" in e) return exceptionFrame(e.exception, e.message);
  if ("error" in e) return errorFrame(e.error, e.message);
  const frame = eventFrame(e.corruptCrc.event, e.corruptCrc.payload);
  frame.writeUInt32BE((frame.readUInt32BE(frame.length - 4) ^ 0xffffffff) >>> 0, frame.length - 4);
  return frame;
}

const DIR = join(FIXTURES_DIR, "bedrock");
const cases = existsSync(DIR)
  ? readdirSync(DIR).filter((name) => existsSync(join(DIR, name, "upstream-events.json")))
  : [];

describe("bedrock stream fixtures", () => {
  it("has stream fixtures", () => expect(cases.length).toBeGreaterThan(10));

  it.each(cases)("%s: upstream-response.bin encodes upstream-events.json", (name) => {
    const events = JSON.parse(
      readFileSync(join(DIR, name, "upstream-events.json"), "utf8"),
    ) as FixtureEvent[];
    const bytes = Buffer.concat(events.map(encode));
    const bin = join(DIR, name, "upstream-response.bin");
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(bin, bytes);
    expect(readFileSync(bin).equals(bytes)).toBe(true);
    if (events.some((e) => "corruptCrc" in e)) return;
    const decoded = createEventStreamDecoder().push(bytes);
    expect(
      decoded.map(
        (m) => m.headers[":event-type"] ?? m.headers[":exception-type"] ?? m.headers[":error-code"],
      ),
    ).toEqual(
      events.map((e) =>
        "event" in e ? e.event : "exception" in e ? e.exception : "error" in e ? e.error : "",
      ),
    );
  });
});
