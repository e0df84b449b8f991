import type { IncomingMessage } from "node:http";
import { describe, expect, it } from "vitest";
import { requestIdOf } from "./account.js";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const req = (id?: string) =>
  ({ headers: id === undefined ? {} : { "x-request-id": id } }) as unknown as IncomingMessage;

describe("requestIdOf", () => {
  it("ignores a client's x-request-id unless told to trust it (usage events are keyed by it)", () => {
    const a = requestIdOf(req("client-chosen-id-1"), false);
    const b = requestIdOf(req("client-chosen-id-1"), false);
    expect(a).toMatch(UUID);
    expect(b).toMatch(UUID);
    expect(a).not.toBe(b);
  });

  it("takes a well-formed incoming id when trusted (behind Envoy, which replaces the client's)", () => {
    expect(requestIdOf(req("9f1c2d3e-edge-id"), true)).toBe("9f1c2d3e-edge-id");
  });

  it("replaces a malformed or missing id even when trusted", () => {
    expect(requestIdOf(req("short"), true)).toMatch(UUID);
    expect(requestIdOf(req("has spaces in it!"), true)).toMatch(UUID);
    expect(requestIdOf(req(), true)).toMatch(UUID);
  });
});
