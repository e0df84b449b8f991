import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { findProvider, type ProviderInfo } from "../../../lib/src/provider-catalog.js";
import {
  CredentialEntrySchema,
  RouteEntrySchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { type CompiledRoute, type CompiledStep, compileRoute, pickTarget } from "./compile.js";
import type { CredentialRecord } from "./routing-table.js";

const OPENAI = findProvider("openai") as ProviderInfo;

function record(id: string, opts: { weight?: number; enabled?: boolean; models?: string[] } = {}) {
  const entry = create(CredentialEntrySchema, {
    id,
    orgId: "org",
    provider: "openai",
    weight: opts.weight ?? 1,
    enabled: opts.enabled ?? true,
    models: opts.models ?? [],
  });
  const rec: CredentialRecord = {
    id,
    orgId: "org",
    provider: OPENAI,
    entry,
    origin: "https://api.openai.com",
    basePath: "/v1",
    models: new Set(entry.models),
  };
  return [id, rec] as const;
}

const routeOf = (
  model: string,
  targets: { credentialId: string; upstreamModel?: string; weight: number }[],
) => create(RouteEntrySchema, { id: "r", orgId: "org", model, targets });

const primary = (r: CompiledRoute): CompiledStep => r.steps[0] as CompiledStep;

const summary = (r: CompiledRoute) => ({
  targets: primary(r).targets.map((t) => [t.credential.id, t.upstreamModel, t.cumulative]),
  total: primary(r).totalWeight,
});

describe("compileRoute", () => {
  const credentials = new Map([
    record("a"),
    record("b", { weight: 2 }),
    record("off", { enabled: false }),
    record("zero", { weight: 0 }),
    record("only-x", { models: ["x"] }),
  ]);

  it.each<
    [string, { credentialId: string; upstreamModel?: string; weight: number }[], ReturnType<typeof summary>]
  >([
    ["no targets", [], { targets: [], total: 0 }],
    [
      "weights multiply and accumulate in order",
      [
        { credentialId: "a", weight: 3 },
        { credentialId: "b", weight: 5 },
      ],
      {
        targets: [
          ["a", "m", 3],
          ["b", "m", 13],
        ],
        total: 13,
      },
    ],
    [
      "upstream model overrides the public name",
      [{ credentialId: "a", upstreamModel: "up", weight: 1 }],
      { targets: [["a", "up", 1]], total: 1 },
    ],
    ["a disabled credential", [{ credentialId: "off", weight: 1 }], { targets: [], total: 0 }],
    ["a missing credential", [{ credentialId: "ghost", weight: 1 }], { targets: [], total: 0 }],
    ["a credential weight of 0", [{ credentialId: "zero", weight: 5 }], { targets: [], total: 0 }],
    ["a target weight of 0", [{ credentialId: "a", weight: 0 }], { targets: [], total: 0 }],
    [
      "a model filter that matches",
      [{ credentialId: "only-x", upstreamModel: "x", weight: 1 }],
      { targets: [["only-x", "x", 1]], total: 1 },
    ],
    [
      "a model filter that does not match",
      [{ credentialId: "only-x", weight: 1 }],
      { targets: [], total: 0 },
    ],
    [
      "excluded targets do not shift the cumulative weights",
      [
        { credentialId: "a", weight: 1 },
        { credentialId: "off", weight: 100 },
        { credentialId: "zero", weight: 100 },
        { credentialId: "b", weight: 1 },
      ],
      {
        targets: [
          ["a", "m", 1],
          ["b", "m", 3],
        ],
        total: 3,
      },
    ],
  ])("%s", (_name, targets, expected) => {
    const compiled = compileRoute(routeOf("m", targets), credentials);
    expect(compiled.model).toBe("m");
    expect(summary(compiled)).toEqual(expected);
    // The primary step's targets and weight, also on the route for the first pick.
    expect([compiled.targets, compiled.totalWeight]).toEqual([primary(compiled).targets, expected.total]);
    expect(compiled.targets).toBe(primary(compiled).targets);
  });

  it("references the credential record itself", () => {
    const compiled = compileRoute(routeOf("m", [{ credentialId: "a", weight: 1 }]), credentials);
    expect(primary(compiled).targets[0]?.credential).toBe(credentials.get("a"));
  });
});

describe("pickTarget", () => {
  const credentials = new Map([record("one"), record("three"), record("a"), record("b"), record("c")]);
  const oneAndThree = compileRoute(
    routeOf("m", [
      { credentialId: "one", weight: 1 },
      { credentialId: "three", weight: 3 },
    ]),
    credentials,
  );

  it.each([
    [0, "one"],
    [0.2, "one"],
    [0.2499, "one"],
    [0.25, "three"],
    [0.5, "three"],
    [0.9999, "three"],
  ])("weights 1 and 3: random %f picks %s", (random, expected) => {
    expect(pickTarget(primary(oneAndThree), undefined, () => random)?.credential.id).toBe(expected);
  });

  it.each([
    [0, "a"],
    [0.1666, "a"],
    [0.17, "b"],
    [0.49, "b"],
    [0.5, "c"],
    [0.99, "c"],
  ])("weights 1, 2 and 3: random %f picks %s", (random, expected) => {
    const route = compileRoute(
      routeOf("m", [
        { credentialId: "a", weight: 1 },
        { credentialId: "b", weight: 2 },
        { credentialId: "c", weight: 3 },
      ]),
      credentials,
    );
    expect(pickTarget(primary(route), undefined, () => random)?.credential.id).toBe(expected);
  });

  it("returns undefined for a route without targets", () => {
    const empty = compileRoute(routeOf("m", []), credentials);
    expect(pickTarget(primary(empty), undefined, () => 0.5)).toBeUndefined();
  });

  it("returns the only target without drawing a random number", () => {
    const single = compileRoute(routeOf("m", [{ credentialId: "a", weight: 9 }]), credentials);
    let calls = 0;
    const target = pickTarget(primary(single), undefined, () => {
      calls++;
      return 0.5;
    });
    expect(target?.credential.id).toBe("a");
    expect(calls).toBe(0);
  });

  it("falls back to the last target if random() returns 1", () => {
    expect(pickTarget(primary(oneAndThree), undefined, () => 1)?.credential.id).toBe("three");
  });

  it("splits 10,000 Math.random picks 25/75 within 3 points", () => {
    const counts = new Map<string, number>();
    const n = 10_000;
    for (let i = 0; i < n; i++) {
      const id = pickTarget(primary(oneAndThree))?.credential.id ?? "none";
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect([...counts.keys()].sort()).toEqual(["one", "three"]);
    expect(Math.abs((counts.get("one") ?? 0) / n - 0.25)).toBeLessThanOrEqual(0.03);
    expect(Math.abs((counts.get("three") ?? 0) / n - 0.75)).toBeLessThanOrEqual(0.03);
  });
});
