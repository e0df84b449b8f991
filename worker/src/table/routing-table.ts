import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { OverridePrice } from "../../../lib/src/pricing-catalog.js";
import type { ProviderInfo } from "../../../lib/src/provider-catalog.js";
import type {
  ApiKeyEntry,
  CredentialEntry,
  MembershipEntry,
  MetricsTokenEntry,
  OrganizationEntry,
  Policy,
  PolicyEntry,
  RouteEntry,
  RoutingTable as RoutingTableMessage,
  TableChange,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { WatchRoutingTableResponse } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import {
  type ActualCost,
  createActualCostIndex,
  createPriceOverrideIndex,
} from "../pricing/table-entries.js";
import { type CompiledRoute, compileRoute, credentialIdsOf, credentialRecord } from "./compile.js";
import { createDigestIndex, type Digested, digestWords } from "./digest-index.js";
import { createKeyedIndex } from "./keyed-index.js";
import { createMembershipIndex } from "./membership-index.js";
import { createOrgSlots, type OrgSlot } from "./org-slots.js";

/** A key as the hot path needs it. */
export interface KeyRecord {
  id: string;
  orgId: string;
  userId: string;
  /** Epoch ms; Infinity when the key does not expire. */
  expiresAt: number;
}

/**
 * A key record as the table stores it: also its digest (`digest-index.ts`) and its
 * organization's slot (`org-slots.ts`), so authenticating and routing a request follow
 * pointers instead of looking up strings. Handlers see a KeyRecord.
 */
interface StoredKey extends KeyRecord, Digested {
  readonly id: string;
  readonly org: OrgSlot;
}

/** A credential ready to call: provider row resolved, base URL normalised. */
export interface CredentialRecord {
  id: string;
  orgId: string;
  provider: ProviderInfo;
  entry: CredentialEntry;
  /** Scheme, host and port of the base URL: the key of the connection pool. */
  origin: string;
  /** Path of the base URL without a trailing slash, e.g. "/openai/v1". */
  basePath: string;
  models: ReadonlySet<string>;
}

/**
 * The in-memory routing table of a worker. Snapshots and deltas from the
 * control plane update plain maps; routes are recompiled when they or their
 * credentials change, so a request does two map lookups and a weighted pick.
 */
export interface RoutingTable {
  readonly version: number;
  /** Epoch ms of the last message from the control plane (heartbeats included). */
  readonly lastSyncAt: number;
  apply(message: WatchRoutingTableResponse): void;
  /** Key by SHA-256 (as a latin1 string); undefined if unknown, disabled org or expired. */
  findKey(hash: string): KeyRecord | undefined;
  findRoute(orgId: string, model: string): CompiledRoute | undefined;
  /** `findRoute(key.orgId, model)`, through the key's own link to its organization when it has one. */
  findRouteOf(key: KeyRecord, model: string): CompiledRoute | undefined;
  /** Public model names the organization has routes for. */
  modelsOf(orgId: string): string[];
  /** The current record of a credential; a changed credential gets a new record. */
  findCredential(id: string): CredentialRecord | undefined;
  /** Slug of an organization, for metric labels. */
  orgSlug(orgId: string): string | undefined;
  /** The policy of a key: its own override, else its organization's default, else none. */
  policyFor(orgId: string, apiKeyId: string): Policy | undefined;
  /** The stored memberships of an OIDC user (by issuer and subject). */
  membershipsOf(issuer: string, subject: string): MembershipEntry[];
  /** Organization id by slug, for enabled and disabled organizations alike. */
  orgIdBySlug(slug: string): string | undefined;
  /** Whether the organization exists and is enabled. */
  isOrgActive(orgId: string): boolean;
  /** Whether a metrics scrape token (SHA-256 as a latin1 string) is valid now. */
  isMetricsToken(hash: string): boolean;
  stats(): { keys: number; credentials: number; routes: number; organizations: number };
  /**
   * Actual provider spend per organization, provider, credential and month
   * ("YYYY-MM": the current month to date and the previous month), from billing
   * sync and CSV imports; credentialId "" for provider-level spend. Read when
   * metrics are scraped (llm_gateway_actual_cost_usd).
   */
  actualCosts(): Iterable<ActualCost>;
  /** The organization's price override for a provider's upstream model, if any (in force or not yet). */
  priceOverride(orgId: string, provider: string, model: string): OverridePrice | undefined;
}

/** Epoch ms of an optional timestamp; Infinity when unset (no expiry). */
function epochMs(t: Timestamp | undefined): number {
  return t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : Number.POSITIVE_INFINITY;
}

export function createRoutingTable(): RoutingTable {
  let version = 0;
  let lastSyncAt = 0;
  const orgs = createOrgSlots(); // entries and compiled routes (model -> route) by org id
  const keys = createDigestIndex<StoredKey>((old) => {
    old.org.keyCount--;
    orgs.release(old.org);
  });
  const credentials = new Map<string, CredentialRecord>();
  const routes = new Map<string, RouteEntry>(); // by id
  const routesByCredential = new Map<string, Set<string>>(); // credential id -> route ids
  const metricsTokens = createKeyedIndex<{ expiresAt: number }>(); // by SHA-256 (latin1)
  const policies = createKeyedIndex<Policy>(); // by "<org>" or "<org>/<key>"
  const memberships = createMembershipIndex();
  const orgBySlug = new Map<string, string>();
  const priceOverrides = createPriceOverrideIndex();
  const actualCosts = createActualCostIndex();
  /**
   * One string instance per organization id and per model name, shared by the org map, the key
   * records and the compiled routes. The hot path looks up by `key.orgId` and the request's model:
   * keys that are one instance compare by identity, and their headers stay in cache instead of
   * one cold copy per key or route as decoded. Cleared with a snapshot; grows in between only
   * with the organizations and model names seen.
   */
  const canonical = new Map<string, string>();
  const intern = (s: string): string => {
    const known = canonical.get(s);
    if (known !== undefined) return known;
    canonical.set(s, s);
    return s;
  };
  const scopeOf = (orgId: string, apiKeyId: string) => (apiKeyId ? `${orgId}/${apiKeyId}` : orgId);
  const hashKey = (hash: Uint8Array) => Buffer.from(hash).toString("latin1");

  const putPolicy = (e: PolicyEntry) => {
    if (e.policy) policies.put(e.id, scopeOf(e.orgId, e.apiKeyId), e.policy);
  };
  const putMetricsToken = (e: MetricsTokenEntry) =>
    metricsTokens.put(e.id, hashKey(e.tokenHash), { expiresAt: epochMs(e.expiresAt) });
  const putOrganization = (e: OrganizationEntry) => {
    const old = orgs.find(e.id)?.entry;
    if (old) orgBySlug.delete(old.slug);
    const id = intern(e.id);
    orgs.setEntry(e, id);
    orgBySlug.set(e.slug, id);
  };

  function putApiKey(e: ApiKeyEntry): void {
    keys.remove(e.id);
    const w = digestWords(e.keyHash);
    if (!w) return; // not a SHA-256 digest: no presented key can match it
    const org = orgs.slot(intern(e.orgId));
    org.keyCount++;
    // One literal with every field, so all of them sit inside the object (no property array).
    keys.put({
      id: e.id,
      orgId: org.id,
      userId: e.userId,
      expiresAt: epochMs(e.expiresAt),
      org,
      w0: w.w0,
      w1: w.w1,
      w2: w.w2,
      w3: w.w3,
      w4: w.w4,
      w5: w.w5,
      w6: w.w6,
      w7: w.w7,
    });
  }

  function setCompiled(route: RouteEntry): void {
    orgs.slot(intern(route.orgId)).set(intern(route.model), compileRoute(route, credentials));
  }

  function removeCompiled(route: RouteEntry): void {
    const org = orgs.find(route.orgId);
    if (org) {
      org.delete(route.model);
      orgs.release(org);
    }
    for (const id of credentialIdsOf(route)) {
      const set = routesByCredential.get(id);
      set?.delete(route.id);
      if (set?.size === 0) routesByCredential.delete(id);
    }
  }

  function putRoute(route: RouteEntry): void {
    const old = routes.get(route.id);
    if (old) removeCompiled(old);
    routes.set(route.id, route);
    setCompiled(route);
    for (const id of credentialIdsOf(route)) {
      let set = routesByCredential.get(id);
      if (!set) {
        set = new Set();
        routesByCredential.set(id, set);
      }
      set.add(route.id);
    }
  }

  /** Recompiles only the routes that can send traffic to the touched credentials. */
  function recompileFor(touched: ReadonlySet<string>): void {
    const ids = new Set<string>();
    for (const c of touched) for (const r of routesByCredential.get(c) ?? []) ids.add(r);
    for (const id of ids) {
      const route = routes.get(id);
      if (route) setCompiled(route);
    }
  }

  function putCredential(e: CredentialEntry): void {
    const record = credentialRecord(e);
    if (record) credentials.set(e.id, record);
    else credentials.delete(e.id); // not routable
  }

  function applyChange(change: TableChange["change"], touchedCredentials: Set<string>): void {
    const c = { change };
    switch (c.change.case) {
      case "upsertOrganization":
        putOrganization(c.change.value);
        break;
      case "removeOrganizationId": {
        const old = orgs.removeEntry(c.change.value);
        if (old) orgBySlug.delete(old.slug);
        break;
      }
      case "upsertApiKey":
        putApiKey(c.change.value);
        break;
      case "removeApiKeyId":
        keys.remove(c.change.value);
        break;
      case "upsertCredential":
        putCredential(c.change.value);
        touchedCredentials.add(c.change.value.id);
        break;
      case "removeCredentialId":
        credentials.delete(c.change.value);
        touchedCredentials.add(c.change.value);
        break;
      case "upsertRoute":
        putRoute(c.change.value);
        break;
      case "upsertPolicy":
        putPolicy(c.change.value);
        break;
      case "removePolicyId":
        policies.remove(c.change.value);
        break;
      case "upsertMetricsToken":
        putMetricsToken(c.change.value);
        break;
      case "removeMetricsTokenId":
        metricsTokens.remove(c.change.value);
        break;
      case "upsertMembership":
        memberships.put(c.change.value);
        break;
      case "removeMembershipId":
        memberships.remove(c.change.value);
        break;
      case "upsertPriceOverride":
        priceOverrides.put(c.change.value);
        break;
      case "removePriceOverrideId":
        priceOverrides.remove(c.change.value);
        break;
      case "upsertActualCost":
        actualCosts.put(c.change.value);
        break;
      case "removeActualCostId":
        actualCosts.remove(c.change.value);
        break;
      case "removeRouteId": {
        const old = routes.get(c.change.value);
        if (old) removeCompiled(old);
        routes.delete(c.change.value);
        break;
      }
    }
  }

  /** A snapshot replaces everything, through the same upserts deltas use. */
  function loadSnapshot(t: RoutingTableMessage): void {
    for (const index of [orgs, orgBySlug, canonical, credentials, routes, memberships]) index.clear();
    routesByCredential.clear();
    for (const index of [keys, metricsTokens, policies, priceOverrides, actualCosts]) index.clear();
    const touched = new Set<string>();
    const upserts: Array<TableChange["change"]> = [
      ...t.organizations.map((value) => ({ case: "upsertOrganization" as const, value })),
      ...t.apiKeys.map((value) => ({ case: "upsertApiKey" as const, value })),
      ...t.credentials.map((value) => ({ case: "upsertCredential" as const, value })),
      ...t.routes.map((value) => ({ case: "upsertRoute" as const, value })),
      ...t.metricsTokens.map((value) => ({ case: "upsertMetricsToken" as const, value })),
      ...t.policies.map((value) => ({ case: "upsertPolicy" as const, value })),
      ...t.memberships.map((value) => ({ case: "upsertMembership" as const, value })),
      ...t.priceOverrides.map((value) => ({ case: "upsertPriceOverride" as const, value })),
      ...t.actualCosts.map((value) => ({ case: "upsertActualCost" as const, value })),
    ];
    for (const change of upserts) applyChange(change, touched);
  }

  function findRoute(orgId: string, model: string): CompiledRoute | undefined {
    return orgs.find(orgId)?.get(model);
  }

  return {
    get version() {
      return version;
    },
    get lastSyncAt() {
      return lastSyncAt;
    },
    apply(message) {
      lastSyncAt = Date.now();
      const payload = message.payload;
      if (payload.case === "snapshot") {
        loadSnapshot(payload.value);
      } else if (payload.case === "delta") {
        const touched = new Set<string>();
        for (const c of payload.value.changes) applyChange(c.change, touched);
        if (touched.size > 0) recompileFor(touched);
      } else {
        return; // heartbeat: version unchanged
      }
      version = Number(message.version);
    },
    findKey(hash) {
      const key = keys.get(hash);
      if (key === undefined) return undefined;
      // Most keys never expire: no clock read for them.
      if (key.expiresAt !== Number.POSITIVE_INFINITY && key.expiresAt <= Date.now()) return undefined;
      return key.org.active ? key : undefined; // the organization exists and is enabled
    },
    findRoute,
    findRouteOf(key, model) {
      // A record of this table links to its organization's slot; a session's record, or one whose
      // slot a change retired since, is looked up by id.
      const org = (key as Partial<StoredKey>).org;
      return org === undefined || org.retired ? findRoute(key.orgId, model) : org.get(model);
    },
    modelsOf: (orgId) => [...(orgs.find(orgId)?.keys() ?? [])],
    findCredential: (id) => credentials.get(id),
    orgSlug: (orgId) => orgs.find(orgId)?.entry?.slug,
    policyFor(orgId, apiKeyId) {
      return policies.get(scopeOf(orgId, apiKeyId)) ?? policies.get(orgId);
    },
    membershipsOf: (issuer, subject) => memberships.of(issuer, subject),
    orgIdBySlug: (slug) => orgBySlug.get(slug),
    isOrgActive: (orgId) => orgs.find(orgId)?.active === true,
    isMetricsToken(hash) {
      const token = metricsTokens.get(hash);
      return token !== undefined && token.expiresAt > Date.now();
    },
    actualCosts: () => actualCosts.values(),
    priceOverride: (orgId, provider, model) => priceOverrides.get(orgId, provider, model),
    stats: () => ({
      keys: keys.size,
      credentials: credentials.size,
      routes: routes.size,
      organizations: orgs.organizations,
    }),
  };
}
