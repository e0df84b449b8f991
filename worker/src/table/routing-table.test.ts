import { createHash } from "node:crypto";
import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ProviderSettingsSchema } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  ApiKeyEntrySchema,
  CredentialEntrySchema,
  MetricsTokenEntrySchema,
  OrganizationEntrySchema,
  PolicyEntrySchema,
  RouteEntrySchema,
  RoutingTableDeltaSchema,
  RoutingTableSchema,
  type TableChange,
  TableChangeSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import {
  HeartbeatSchema,
  type WatchRoutingTableResponse,
  WatchRoutingTableResponseSchema,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { createRoutingTable, type RoutingTable } from "./routing-table.js";

const ORG = "org-a";
const OTHER_ORG = "org-b";
const DISABLED_ORG = "org-off";

const hashOf = (key: string) => createHash("sha256").update(key).digest();
const lookup = (key: string) => hashOf(key).toString("latin1");

const org = (id: string, disabled = false) => create(OrganizationEntrySchema, { id, slug: id, disabled });

const apiKey = (
  id: string,
  orgId: string,
  key: string,
  extra: MessageInitShape<typeof ApiKeyEntrySchema> = {},
) => create(ApiKeyEntrySchema, { id, orgId, keyHash: hashOf(key), userId: `user-${id}`, ...extra });

const credential = (id: string, extra: MessageInitShape<typeof CredentialEntrySchema> = {}) =>
  create(CredentialEntrySchema, {
    id,
    orgId: ORG,
    provider: "openai",
    name: id,
    secret: `sk-${id}`,
    weight: 1,
    enabled: true,
    ...extra,
  });

const route = (
  id: string,
  model: string,
  targets: { credentialId: string; upstreamModel?: string; weight?: number }[],
  orgId = ORG,
) =>
  create(RouteEntrySchema, {
    id,
    orgId,
    model,
    targets: targets.map((t) => ({ weight: 1, ...t })),
  });

type Snapshot = MessageInitShape<typeof RoutingTableSchema>;

function snapshot(version: number, table: Snapshot): WatchRoutingTableResponse {
  return create(WatchRoutingTableResponseSchema, {
    version: BigInt(version),
    payload: { case: "snapshot", value: create(RoutingTableSchema, table) },
  });
}

function delta(version: number, changes: TableChange["change"][]): WatchRoutingTableResponse {
  return create(WatchRoutingTableResponseSchema, {
    version: BigInt(version),
    payload: {
      case: "delta",
      value: create(RoutingTableDeltaSchema, {
        fromVersion: BigInt(version - 1),
        changes: changes.map((change) => create(TableChangeSchema, { change })),
      }),
    },
  });
}

function heartbeat(version: number): WatchRoutingTableResponse {
  return create(WatchRoutingTableResponseSchema, {
    version: BigInt(version),
    payload: { case: "heartbeat", value: create(HeartbeatSchema, { intervalSeconds: 15 }) },
  });
}

/** A small table: two orgs, keys, two credentials and two routes in org A. */
function baseTable(): Snapshot {
  return {
    organizations: [org(ORG), org(OTHER_ORG), org(DISABLED_ORG, true)],
    apiKeys: [
      apiKey("k1", ORG, "sk-gw-alpha"),
      apiKey("k2", OTHER_ORG, "sk-gw-beta"),
      apiKey("k-off", DISABLED_ORG, "sk-gw-disabled-org"),
      apiKey("k-orphan", "org-missing", "sk-gw-orphan"),
    ],
    credentials: [credential("c1"), credential("c2", { weight: 3 })],
    routes: [
      route("r1", "gpt-4o", [
        { credentialId: "c1", weight: 1 },
        { credentialId: "c2", upstreamModel: "gpt-4o-2024-08-06", weight: 1 },
      ]),
      route("r2", "mini", [{ credentialId: "c1", upstreamModel: "gpt-4o-mini" }]),
    ],
  };
}

function loaded(table: Snapshot = baseTable(), version = 10): RoutingTable {
  const t = createRoutingTable();
  t.apply(snapshot(version, table));
  return t;
}

const targetsOf = (t: RoutingTable, orgId: string, model: string) =>
  t.findRoute(orgId, model)?.steps[0]?.targets.map((x) => [x.credential.id, x.upstreamModel, x.cumulative]);

afterEach(() => {
  vi.useRealTimers();
});

describe("snapshots", () => {
  it("starts empty at version 0", () => {
    const t = createRoutingTable();
    expect(t.version).toBe(0);
    expect(t.lastSyncAt).toBe(0);
    expect(t.findKey(lookup("sk-gw-alpha"))).toBeUndefined();
    expect(t.stats()).toEqual({ keys: 0, credentials: 0, routes: 0, organizations: 0 });
  });

  it("loads a snapshot and takes its version", () => {
    const t = loaded();
    expect(t.version).toBe(10);
    expect(t.lastSyncAt).toBeGreaterThan(0);
    expect(t.stats()).toEqual({ keys: 4, credentials: 2, routes: 2, organizations: 3 });
  });

  it("replaces, not merges, the previous table", () => {
    const t = loaded();
    t.apply(
      snapshot(20, {
        organizations: [org(ORG)],
        apiKeys: [apiKey("k9", ORG, "sk-gw-new")],
        credentials: [credential("c1")],
        routes: [route("r9", "other", [{ credentialId: "c1" }])],
      }),
    );
    expect(t.version).toBe(20);
    expect(t.findKey(lookup("sk-gw-alpha"))).toBeUndefined();
    expect(t.findKey(lookup("sk-gw-new"))?.id).toBe("k9");
    expect(t.findRoute(ORG, "gpt-4o")).toBeUndefined();
    expect(t.findRoute(ORG, "other")?.steps[0]?.targets).toHaveLength(1);
    expect(t.stats()).toEqual({ keys: 1, credentials: 1, routes: 1, organizations: 1 });
  });
});

describe("findKey", () => {
  it.each([
    ["a key of an enabled org", "sk-gw-alpha", { id: "k1", orgId: ORG, userId: "user-k1" }],
    ["a key of another enabled org", "sk-gw-beta", { id: "k2", orgId: OTHER_ORG, userId: "user-k2" }],
    ["a key of a disabled org", "sk-gw-disabled-org", undefined],
    ["a key whose org is not in the table", "sk-gw-orphan", undefined],
    ["an unknown key", "sk-gw-unknown", undefined],
    ["a key differing in case", "SK-GW-ALPHA", undefined],
  ])("%s", (_name, key, expected) => {
    const found = loaded().findKey(lookup(key));
    if (expected === undefined) expect(found).toBeUndefined();
    else expect(found).toMatchObject({ ...expected, expiresAt: Number.POSITIVE_INFINITY });
  });

  it("does not match the hex or the plain key instead of the latin1 hash", () => {
    const t = loaded();
    expect(t.findKey(hashOf("sk-gw-alpha").toString("hex"))).toBeUndefined();
    expect(t.findKey("sk-gw-alpha")).toBeUndefined();
  });

  it.each([
    ["expired an hour ago", -3_600_000, false],
    ["expired a millisecond ago", -1, false],
    ["expiring right now", 0, false],
    ["expiring in a millisecond", 1, true],
    ["expiring in a day", 86_400_000, true],
  ])("a key %s", (_name, offsetMs, valid) => {
    const now = Date.UTC(2030, 0, 1, 12);
    vi.useFakeTimers({ now });
    const t = loaded({
      organizations: [org(ORG)],
      apiKeys: [apiKey("k1", ORG, "sk-gw-expiring", { expiresAt: timestampFromMs(now + offsetMs) })],
    });
    const found = t.findKey(lookup("sk-gw-expiring"));
    if (valid) expect(found).toMatchObject({ id: "k1", expiresAt: now + offsetMs });
    else expect(found).toBeUndefined();
  });

  it("finds a key that never expires without reading the clock", () => {
    const t = loaded();
    const clock = vi.spyOn(Date, "now");
    expect(t.findKey(lookup("sk-gw-alpha"))?.id).toBe("k1");
    expect(clock).not.toHaveBeenCalled();
    clock.mockRestore();
  });

  it("stops accepting a key once it expires", () => {
    const now = Date.UTC(2030, 0, 1, 12);
    vi.useFakeTimers({ now });
    const t = loaded({
      organizations: [org(ORG)],
      apiKeys: [apiKey("k1", ORG, "sk-gw-expiring", { expiresAt: timestampFromMs(now + 60_000) })],
    });
    expect(t.findKey(lookup("sk-gw-expiring"))?.id).toBe("k1");
    vi.setSystemTime(now + 60_000);
    expect(t.findKey(lookup("sk-gw-expiring"))).toBeUndefined();
  });
});

describe("findRoute", () => {
  it("returns the compiled targets with upstream models and cumulative weights", () => {
    const t = loaded();
    const r = t.findRoute(ORG, "gpt-4o");
    expect(r?.model).toBe("gpt-4o");
    // c1: 1 x 1 = 1; c2: route weight 1 x credential weight 3 = 3.
    expect(targetsOf(t, ORG, "gpt-4o")).toEqual([
      ["c1", "gpt-4o", 1],
      ["c2", "gpt-4o-2024-08-06", 4],
    ]);
    expect(r?.steps[0]?.totalWeight).toBe(4);
    expect(targetsOf(t, ORG, "mini")).toEqual([["c1", "gpt-4o-mini", 1]]);
  });

  it("resolves the credential's provider, origin and base path", () => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [
        credential("default-url"),
        credential("custom-url", {
          provider: "openai-compatible",
          settings: create(ProviderSettingsSchema, { baseUrl: "http://10.0.0.5:8080/openai/v1//" }),
        }),
      ],
      routes: [
        route("r1", "m", [{ credentialId: "default-url" }]),
        route("r2", "n", [{ credentialId: "custom-url" }]),
      ],
    });
    const a = t.findRoute(ORG, "m")?.steps[0]?.targets[0]?.credential;
    expect([a?.provider.id, a?.origin, a?.basePath, a?.entry.secret]).toEqual([
      "openai",
      "https://api.openai.com",
      "/v1",
      "sk-default-url",
    ]);
    const b = t.findRoute(ORG, "n")?.steps[0]?.targets[0]?.credential;
    expect([b?.provider.id, b?.origin, b?.basePath]).toEqual([
      "openai-compatible",
      "http://10.0.0.5:8080",
      "/openai/v1",
    ]);
  });

  it.each([
    ["an unknown model", ORG, "gpt-5"],
    ["a model of another org", OTHER_ORG, "gpt-4o"],
    ["a model differing in case", ORG, "GPT-4O"],
  ])("is undefined for %s", (_name, orgId, model) => {
    expect(loaded().findRoute(orgId, model)).toBeUndefined();
  });

  it.each([
    ["an unknown provider", credential("c", { provider: "made-up-provider" })],
    ["a provider without a default URL and no base URL", credential("c", { provider: "openai-compatible" })],
    [
      "a malformed base URL",
      credential("c", { settings: create(ProviderSettingsSchema, { baseUrl: "not a url" }) }),
    ],
  ])("keeps the route but does not route to a credential with %s", (_name, entry) => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [entry, credential("ok")],
      routes: [route("r1", "m", [{ credentialId: "c" }]), route("r2", "n", [{ credentialId: "ok" }])],
    });
    expect(t.stats().credentials).toBe(1);
    expect(t.findRoute(ORG, "m")).toMatchObject({ model: "m", steps: [{ targets: [], totalWeight: 0 }] });
    expect(targetsOf(t, ORG, "n")).toEqual([["ok", "n", 1]]);
  });

  it.each<[string, string[], string, boolean]>([
    ["no model filter", [], "anything", true],
    ["a filter containing the upstream model", ["gpt-4o", "gpt-4o-mini"], "gpt-4o-mini", true],
    ["a filter without the upstream model", ["gpt-4o"], "gpt-4o-mini", false],
    ["a filter matching only the public name", ["public"], "private-upstream", false],
  ])("applies the credential's models: %s", (_name, models, upstreamModel, routable) => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [credential("c1", { models })],
      routes: [route("r1", "public", [{ credentialId: "c1", upstreamModel }])],
    });
    expect(t.findRoute(ORG, "public")?.steps[0]?.targets.length).toBe(routable ? 1 : 0);
  });

  it("checks the model filter against the public name when the target has no upstream model", () => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [credential("c1", { models: ["public"] }), credential("c2", { models: ["other"] })],
      routes: [route("r1", "public", [{ credentialId: "c1" }, { credentialId: "c2" }])],
    });
    expect(targetsOf(t, ORG, "public")).toEqual([["c1", "public", 1]]);
  });

  it.each([
    ["target weight 0", 0, 1, false],
    ["credential weight 0", 1, 0, false],
    ["both weights positive", 2, 5, true],
  ])("%s", (_name, targetWeight, credentialWeight, routable) => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [credential("c1", { weight: credentialWeight }), credential("c2")],
      routes: [
        route("r1", "m", [
          { credentialId: "c1", weight: targetWeight },
          { credentialId: "c2", weight: 1 },
        ]),
      ],
    });
    const expected = routable
      ? [
          ["c1", "m", targetWeight * credentialWeight],
          ["c2", "m", targetWeight * credentialWeight + 1],
        ]
      : [["c2", "m", 1]];
    expect(targetsOf(t, ORG, "m")).toEqual(expected);
  });

  it("skips targets whose credential is disabled or missing", () => {
    const t = loaded({
      organizations: [org(ORG)],
      credentials: [credential("on"), credential("off", { enabled: false })],
      routes: [
        route("r1", "m", [{ credentialId: "off" }, { credentialId: "missing" }, { credentialId: "on" }]),
      ],
    });
    expect(targetsOf(t, ORG, "m")).toEqual([["on", "m", 1]]);
  });
});

describe("deltas", () => {
  it("a credential disabled by a delta leaves its route found but with zero targets", () => {
    const t = loaded(baseTable(), 10);
    t.apply(delta(11, [{ case: "upsertCredential", value: credential("c1", { enabled: false }) }]));
    expect(t.version).toBe(11);
    expect(t.findRoute(ORG, "mini")).toMatchObject({
      model: "mini",
      steps: [{ targets: [], totalWeight: 0 }],
    });
    // The other route keeps its other target, with weights recomputed.
    expect(targetsOf(t, ORG, "gpt-4o")).toEqual([["c2", "gpt-4o-2024-08-06", 3]]);

    t.apply(delta(12, [{ case: "upsertCredential", value: credential("c1") }]));
    expect(targetsOf(t, ORG, "mini")).toEqual([["c1", "gpt-4o-mini", 1]]);
  });

  it("a removed credential leaves its routes without that target", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "removeCredentialId", value: "c2" }]));
    expect(targetsOf(t, ORG, "gpt-4o")).toEqual([["c1", "gpt-4o", 1]]);
    expect(t.stats().credentials).toBe(1);
  });

  it("a credential switched to an unknown provider stops being routable", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertCredential", value: credential("c1", { provider: "nope" }) }]));
    expect(t.findRoute(ORG, "mini")?.steps[0]?.targets).toEqual([]);
    expect(t.stats().credentials).toBe(1);
  });

  it("a credential's new weight is compiled into its routes", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertCredential", value: credential("c2", { weight: 7 }) }]));
    expect(t.findRoute(ORG, "gpt-4o")?.steps[0]?.totalWeight).toBe(8);
  });

  it("a credential added after its route becomes routable", () => {
    const t = loaded({ organizations: [org(ORG)], routes: [route("r1", "m", [{ credentialId: "late" }])] });
    expect(t.findRoute(ORG, "m")?.steps[0]?.targets).toEqual([]);
    t.apply(delta(11, [{ case: "upsertCredential", value: credential("late") }]));
    expect(targetsOf(t, ORG, "m")).toEqual([["late", "m", 1]]);
  });

  it("a route and its credential in the same delta, in either order, are compiled together", () => {
    for (const order of ["route first", "credential first"]) {
      const t = loaded({ organizations: [org(ORG)] });
      const changes: TableChange["change"][] = [
        { case: "upsertRoute", value: route("r1", "m", [{ credentialId: "new" }]) },
        { case: "upsertCredential", value: credential("new") },
      ];
      if (order === "credential first") changes.reverse();
      t.apply(delta(11, changes));
      expect(targetsOf(t, ORG, "m"), order).toEqual([["new", "m", 1]]);
    }
  });

  it("removing a route makes it unknown and leaves the others", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "removeRouteId", value: "r2" }]));
    expect(t.findRoute(ORG, "mini")).toBeUndefined();
    expect(t.findRoute(ORG, "gpt-4o")?.steps[0]?.targets).toHaveLength(2);
    expect(t.stats().routes).toBe(1);
  });

  it("renaming a route's model moves it", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertRoute", value: route("r2", "small", [{ credentialId: "c2" }]) }]));
    expect(t.findRoute(ORG, "mini")).toBeUndefined();
    expect(targetsOf(t, ORG, "small")).toEqual([["c2", "small", 3]]);
    expect(t.stats().routes).toBe(2);
  });

  it("removing an unknown id changes nothing but the version", () => {
    const t = loaded();
    t.apply(
      delta(11, [
        { case: "removeRouteId", value: "nope" },
        { case: "removeApiKeyId", value: "nope" },
        { case: "removeCredentialId", value: "nope" },
        { case: "removeOrganizationId", value: "nope" },
      ]),
    );
    expect(t.version).toBe(11);
    expect(t.stats()).toEqual({ keys: 4, credentials: 2, routes: 2, organizations: 3 });
    expect(targetsOf(t, ORG, "gpt-4o")).toHaveLength(2);
  });

  it("removing a key makes it unknown", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "removeApiKeyId", value: "k1" }]));
    expect(t.findKey(lookup("sk-gw-alpha"))).toBeUndefined();
    expect(t.findKey(lookup("sk-gw-beta"))?.id).toBe("k2");
    expect(t.stats().keys).toBe(3);
  });

  it("upserting a key with a new hash retires the old hash", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertApiKey", value: apiKey("k1", ORG, "sk-gw-rotated") }]));
    expect(t.findKey(lookup("sk-gw-alpha"))).toBeUndefined();
    expect(t.findKey(lookup("sk-gw-rotated"))?.id).toBe("k1");
    expect(t.stats().keys).toBe(4);
  });

  it("adding a key makes it usable", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertApiKey", value: apiKey("k3", OTHER_ORG, "sk-gw-gamma") }]));
    expect(t.findKey(lookup("sk-gw-gamma"))).toMatchObject({ id: "k3", orgId: OTHER_ORG });
  });

  it.each([
    ["disabling the org", [{ case: "upsertOrganization", value: org(ORG, true) }] as const],
    ["removing the org", [{ case: "removeOrganizationId", value: ORG }] as const],
  ])("%s refuses its keys", (_name, changes) => {
    const t = loaded();
    t.apply(delta(11, [...changes]));
    expect(t.findKey(lookup("sk-gw-alpha"))).toBeUndefined();
    expect(t.findKey(lookup("sk-gw-beta"))?.id).toBe("k2");
  });

  it("re-enabling an org accepts its keys again", () => {
    const t = loaded();
    t.apply(delta(11, [{ case: "upsertOrganization", value: org(DISABLED_ORG) }]));
    expect(t.findKey(lookup("sk-gw-disabled-org"))?.id).toBe("k-off");
  });

  it("an org removed and added again keeps its keys and routes (ids compared by value)", () => {
    const t = loaded();
    const id = `${ORG.slice(0, 2)}${ORG.slice(2)}`; // equal to ORG, another string instance
    t.apply(delta(11, [{ case: "removeOrganizationId", value: ORG }]));
    t.apply(delta(12, [{ case: "upsertOrganization", value: org(id) }]));
    expect(t.findKey(lookup("sk-gw-alpha"))).toMatchObject({ id: "k1", orgId: ORG });
    expect(t.findRoute(id, "gpt-4o")?.steps[0]?.targets.length).toBeGreaterThan(0);
    expect(t.modelsOf(ORG)).toContain("gpt-4o");
  });
});

describe("heartbeats", () => {
  it("do not change the version or the table, but count as a sync", () => {
    vi.useFakeTimers({ now: 1_000_000 });
    const t = loaded(baseTable(), 10);
    expect(t.lastSyncAt).toBe(1_000_000);
    vi.setSystemTime(2_000_000);
    t.apply(heartbeat(99));
    expect(t.version).toBe(10);
    expect(t.lastSyncAt).toBe(2_000_000);
    expect(t.stats()).toEqual({ keys: 4, credentials: 2, routes: 2, organizations: 3 });
  });

  it("a message without payload is ignored like a heartbeat", () => {
    const t = loaded(baseTable(), 10);
    t.apply(create(WatchRoutingTableResponseSchema, { version: 50n }));
    expect(t.version).toBe(10);
  });
});

describe("metrics tokens", () => {
  const token = (id: string, secret: string, expiresAtMs?: number) => ({
    id,
    tokenHash: hashOf(secret),
    ...(expiresAtMs === undefined ? {} : { expiresAt: timestampFromMs(expiresAtMs) }),
  });

  it("accepts tokens from the snapshot and deltas, and forgets removed or expired ones", () => {
    const table = loaded(
      create(RoutingTableSchema, {
        ...baseTable(),
        metricsTokens: [create(MetricsTokenEntrySchema, token("m1", "scrape-1"))],
      }),
      1,
    );
    expect(table.isMetricsToken(lookup("scrape-1"))).toBe(true);
    expect(table.isMetricsToken(lookup("scrape-2"))).toBe(false);
    table.apply(
      delta(2, [
        { case: "upsertMetricsToken", value: create(MetricsTokenEntrySchema, token("m2", "scrape-2")) },
        {
          case: "upsertMetricsToken",
          value: create(MetricsTokenEntrySchema, token("m1", "scrape-1", Date.now() - 1)),
        },
      ]),
    );
    expect(table.isMetricsToken(lookup("scrape-2"))).toBe(true);
    expect(table.isMetricsToken(lookup("scrape-1"))).toBe(false);
    table.apply(delta(3, [{ case: "removeMetricsTokenId", value: "m2" }]));
    expect(table.isMetricsToken(lookup("scrape-2"))).toBe(false);
  });
});

describe("policies", () => {
  it("resolves a key's override, else its organization's default", () => {
    const table = loaded(
      create(RoutingTableSchema, {
        ...baseTable(),
        policies: [
          create(PolicyEntrySchema, { id: "p1", orgId: ORG, policy: { requestsPerMinute: 600 } }),
          create(PolicyEntrySchema, {
            id: "p2",
            orgId: ORG,
            apiKeyId: "key-x",
            policy: { requestsPerMinute: 60 },
          }),
        ],
      }),
      1,
    );
    expect(table.policyFor(ORG, "key-x")?.requestsPerMinute).toBe(60);
    expect(table.policyFor(ORG, "key-y")?.requestsPerMinute).toBe(600);
    expect(table.policyFor(OTHER_ORG, "key-x")).toBeUndefined();
    table.apply(delta(2, [{ case: "removePolicyId", value: "p2" }]));
    expect(table.policyFor(ORG, "key-x")?.requestsPerMinute).toBe(600);
  });
});
