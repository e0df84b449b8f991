import { describe, expect, it } from "vitest";
import { parseTraceparent } from "./traceparent.js";

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_ID = "00f067aa0ba902b7";

describe("parseTraceparent", () => {
  it.each([
    [`00-${TRACE_ID}-${PARENT_ID}-01`, true],
    [`  00-${TRACE_ID}-${PARENT_ID}-01 `, true],
    [`01-${TRACE_ID}-${PARENT_ID}-01-future-field`, true],
    [`00-${TRACE_ID}-${PARENT_ID}-01-extra`, false],
    [`ff-${TRACE_ID}-${PARENT_ID}-01`, false],
    [`00-${"0".repeat(32)}-${PARENT_ID}-01`, false],
    [`00-${TRACE_ID}-${"0".repeat(16)}-01`, false],
    [`00-${TRACE_ID.toUpperCase()}-${PARENT_ID}-01`, false],
    ["", false],
    [undefined, false],
  ])("%s: valid %s", (header, valid) => {
    const sc = parseTraceparent(header);
    expect(sc !== undefined).toBe(valid);
    if (sc) expect(sc).toMatchObject({ traceId: TRACE_ID, spanId: PARENT_ID, traceFlags: 1, isRemote: true });
  });
});
