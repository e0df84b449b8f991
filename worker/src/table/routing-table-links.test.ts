/**
 * The links the hot path follows instead of string lookups (issue 8, target 5): keys found by
 * digest words (digest-index.ts), each key record pointing at its organization's slot
 * (org-slots.ts) for `findKey`'s enabled check and `findRouteOf`. Every change through
 * snapshots and deltas must read the same as the lookups by id.
 */
import { createHash } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { afterEach, describe, expect, it, vi } from "vitest";
import * as pb from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { WatchRoutingTableResponseSchema } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { createRoutingTable, type KeyRecord, type RoutingTable } from "./routing-table.js";

const A = "org-a";
const B = "org-b";
const sha = (key: string) => createHash("sha256").update(key).digest();
type Change = pb.TableChange["change"];

const orgChange = (id: string, disabled = false): Change => ({
  case: "upsertOrganization",
  value: create(pb.OrganizationEntrySchema, { id, slug: `slug-${id}`, disabled }),
});
const keyChange = (id: string, orgId: string, keyHash: Uint8Array, expiresAtMs?: number): Change => ({
  case: "upsertApiKey",
  value: create(pb.ApiKeyEntrySchema, {
    id,
    orgId,
    keyHash,
    userId: `user-${id}`,
    ...(expiresAtMs === undefined ? {} : { expiresAt: timestampFromMs(expiresAtMs) }),
  }),
});
const credentialChange = (id: string, orgId: string): Change => ({
  case: "upsertCredential",
  value: create(pb.CredentialEntrySchema, {
    id,
    orgId,
    provider: "openai",
    secret: "s",
    weight: 1,
    enabled: true,
  }),
});
const routeChange = (id: string, orgId: string, model: string, credentialId: string): Change => ({
  case: "upsertRoute",
  value: create(pb.RouteEntrySchema, { id, orgId, model, targets: [{ credentialId, weight: 1 }] }),
});
const remove = (c: "Organization" | "ApiKey" | "Route", value: string): Change =>
  ({ case: `remove${c}Id`, value }) as Change;

/** Each org with a credential `c-<org>` and a route `r-<org>` for model "m". */
const orgWithRoute = (id: string): Change[] => [
  orgChange(id),
  credentialChange(`c-${id}`, id),
  routeChange(`r-${id}`, id, "m", `c-${id}`),
];

let version = 0;
function apply(t: RoutingTable, changes: Change[], asSnapshot = false): void {
  version++;
  const payload = asSnapshot
    ? {
        case: "snapshot" as const,
        value: create(pb.RoutingTableSchema, {
          organizations: changes.flatMap((c) => (c.case === "upsertOrganization" ? [c.value] : [])),
          apiKeys: changes.flatMap((c) => (c.case === "upsertApiKey" ? [c.value] : [])),
          credentials: changes.flatMap((c) => (c.case === "upsertCredential" ? [c.value] : [])),
          routes: changes.flatMap((c) => (c.case === "upsertRoute" ? [c.value] : [])),
        }),
      }
    : {
        case: "delta" as const,
        value: create(pb.RoutingTableDeltaSchema, {
          fromVersion: BigInt(version - 1),
          changes: changes.map((change) => create(pb.TableChangeSchema, { change })),
        }),
      };
  t.apply(create(WatchRoutingTableResponseSchema, { version: BigInt(version), payload }));
}

/** A table with orgs A and B (a route "m" each) and key k1 ("sk-1") in A. */
function table(): { t: RoutingTable; k1: KeyRecord } {
  const t = createRoutingTable();
  apply(t, [...orgWithRoute(A), ...orgWithRoute(B), keyChange("k1", A, sha("sk-1"))], true);
  return { t, k1: t.findKey(sha("sk-1").toString("latin1")) as KeyRecord };
}

const targetOf = (t: RoutingTable, key: KeyRecord, model = "m") =>
  t.findRouteOf(key, model)?.targets[0]?.credential.id;

afterEach(() => {
  vi.useRealTimers();
});

describe("keys by digest in the table", () => {
  it("tells apart keys whose digests share the first four bytes", () => {
    const t = createRoutingTable();
    const digests = [1, 2, 3].map((i) => {
      const d = sha(`collide-${i}`);
      d.writeUInt32BE(0xdeadbeef, 0);
      return d;
    });
    apply(t, [orgChange(A), ...digests.map((d, i) => keyChange(`k${i}`, A, d))], true);
    for (const [i, d] of digests.entries()) expect(t.findKey(d.toString("latin1"))?.id).toBe(`k${i}`);
    const stranger = sha("collide-4");
    stranger.writeUInt32BE(0xdeadbeef, 0);
    expect(t.findKey(stranger.toString("latin1"))).toBeUndefined();
    apply(t, [remove("ApiKey", "k0")]);
    expect(t.findKey((digests[0] as Buffer).toString("latin1"))).toBeUndefined();
    expect(t.findKey((digests[2] as Buffer).toString("latin1"))?.id).toBe("k2");
  });

  it("never finds a key whose stored hash is not a SHA-256 digest", () => {
    const t = createRoutingTable();
    const short = sha("sk-short").subarray(0, 31);
    apply(t, [orgChange(A), keyChange("k1", A, short)], true);
    expect(t.findKey(short.toString("latin1"))).toBeUndefined();
    expect(t.findKey(`${short.toString("latin1")}\u0000`)).toBeUndefined();
    expect(t.stats().keys).toBe(0);
  });

  it("applies a new expiry given by a delta", () => {
    const now = Date.UTC(2030, 0, 1);
    vi.useFakeTimers({ now });
    const { t } = table();
    const hash = sha("sk-1").toString("latin1");
    apply(t, [keyChange("k1", A, sha("sk-1"), now + 1000)]);
    expect(t.findKey(hash)?.expiresAt).toBe(now + 1000);
    vi.setSystemTime(now + 1000);
    expect(t.findKey(hash)).toBeUndefined();
    apply(t, [keyChange("k1", A, sha("sk-1"))]);
    expect(t.findKey(hash)?.expiresAt).toBe(Number.POSITIVE_INFINITY);
  });
});

describe("a key's link to its organization", () => {
  it("follows the organization being disabled, removed and added again", () => {
    const { t } = table();
    const hash = sha("sk-1").toString("latin1");
    apply(t, [orgChange(A, true)]);
    expect(t.findKey(hash)).toBeUndefined();
    apply(t, [orgChange(A)]);
    expect(t.findKey(hash)?.id).toBe("k1");
    apply(t, [remove("Organization", A)]);
    expect([t.findKey(hash), t.isOrgActive(A), t.orgSlug(A), t.stats().organizations]).toEqual([
      undefined,
      false,
      undefined,
      1,
    ]);
    apply(t, [orgChange(A)]);
    expect([
      t.findKey(hash)?.id,
      t.isOrgActive(A),
      t.orgIdBySlug(`slug-${A}`),
      t.stats().organizations,
    ]).toEqual(["k1", true, A, 2]);
  });

  it("accepts a key that came before its organization once the organization arrives", () => {
    const t = createRoutingTable();
    apply(t, [keyChange("k1", A, sha("sk-1"))], true);
    expect(t.findKey(sha("sk-1").toString("latin1"))).toBeUndefined();
    apply(t, [orgChange(A)]);
    expect(t.findKey(sha("sk-1").toString("latin1"))?.orgId).toBe(A);
  });

  it("moves with a key given to another organization", () => {
    const { t } = table();
    apply(t, [keyChange("k1", B, sha("sk-1"))]);
    const moved = t.findKey(sha("sk-1").toString("latin1")) as KeyRecord;
    expect(moved.orgId).toBe(B);
    expect(targetOf(t, moved)).toBe(`c-${B}`);
    apply(t, [orgChange(B, true)]);
    expect(t.findKey(sha("sk-1").toString("latin1"))).toBeUndefined();
  });
});

describe("findRouteOf", () => {
  it("reads what findRoute reads, through route changes after the key was found", () => {
    const { t, k1 } = table();
    expect(t.findRouteOf(k1, "m")).toBe(t.findRoute(A, "m"));
    apply(t, [routeChange("r-new", A, "n", `c-${A}`)]);
    expect(targetOf(t, k1, "n")).toBe(`c-${A}`);
    apply(t, [remove("Route", `r-${A}`)]);
    expect(t.findRouteOf(k1, "m")).toBeUndefined();
    expect(t.modelsOf(A)).toEqual(["n"]);
  });

  it("reads the current table for a record whose organization was dropped and added again", () => {
    const { t, k1 } = table();
    apply(t, [remove("ApiKey", "k1"), remove("Route", `r-${A}`), remove("Organization", A)]);
    expect(t.findRouteOf(k1, "m")).toBeUndefined();
    apply(t, orgWithRoute(A));
    expect(t.findRouteOf(k1, "m")).toBe(t.findRoute(A, "m"));
    expect(targetOf(t, k1)).toBe(`c-${A}`);
  });

  it("reads the new table for a record found before a snapshot", () => {
    const { t, k1 } = table();
    apply(t, [orgChange(A), credentialChange("c-2", A), routeChange("r-2", A, "m", "c-2")], true);
    expect(targetOf(t, k1)).toBe("c-2");
    apply(t, [orgChange(B)], true);
    expect(t.findRouteOf(k1, "m")).toBeUndefined();
  });

  it("looks up by organization id a record from elsewhere (an OIDC session)", () => {
    const { t } = table();
    const session: KeyRecord = { id: "session", orgId: B, userId: "u", expiresAt: Date.now() + 60_000 };
    expect(targetOf(t, session)).toBe(`c-${B}`);
    expect(t.findRouteOf({ ...session, orgId: "org-none" }, "m")).toBeUndefined();
  });
});
