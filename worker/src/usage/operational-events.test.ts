import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { OperationalEventKind } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { credential } from "../../../test/helpers/worker-fixtures.js";
import { createOperationalEvents } from "./operational-events.js";

describe("operational events", () => {
  it("aggregates the same event within a window into one, with count and first/last times", () => {
    let now = 1_000_000;
    const events = createOperationalEvents({ workerId: "w1", windowMs: 10_000, now: () => now });
    const c = credential("c1");
    for (let i = 0; i < 500; i++) {
      events.add(OperationalEventKind.PROVIDER_ERROR, c, "m", ErrorClass.UNAVAILABLE, "HTTP 503");
      now += 10;
    }
    events.add(OperationalEventKind.PROVIDER_ERROR, c, "m", ErrorClass.RATE_LIMITED, "HTTP 429");
    expect(events.drain()).toEqual([]); // window still open
    now = 1_000_000 + 15_000;
    const out = events.drain();
    expect(out).toHaveLength(2);
    expect(out[0]).toMatchObject({
      orgId: "org",
      credentialId: "c1",
      model: "m",
      count: 500,
      detail: "HTTP 503",
    });
    expect(Number(out[0]?.lastAt?.seconds) - Number(out[0]?.firstAt?.seconds)).toBe(4);
    expect(out[1]).toMatchObject({ errorClass: ErrorClass.RATE_LIMITED, count: 1 });
    expect(new Set(out.map((e) => e.eventId)).size).toBe(2);
    expect(events.drain(true)).toEqual([]);
  });

  it("drains every open event on shutdown and bounds distinct events", () => {
    const events = createOperationalEvents({ workerId: "w1", windowMs: 60_000, maxKeys: 2 });
    for (const id of ["a", "b", "c"]) {
      events.add(OperationalEventKind.CIRCUIT_OPENED, credential(id), "", ErrorClass.AUTH, "circuit");
    }
    expect(events.dropped).toBe(1);
    expect(events.drain(true).map((e) => e.credentialId)).toEqual(["a", "b"]);
  });
});
