import type { Timestamp } from "@bufbuild/protobuf/wkt";
import type { OverridePrice } from "../../../lib/src/pricing-catalog.js";
import { findProvider, type ProviderInfo, resolveBaseUrl } from "../../../lib/src/provider-catalog.js";
import type {
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
import { type CompiledRoute, compileRoute, credentialIdsOf } from "./compile.js";
import { createKeyedIndex } from "./keyed-index.js";

/** A key as the hot path needs it. */
export interface KeyRecord {
  id: string;
  orgId: string;
  userId: string;
  /** Epoch ms; Infinity when the key does not expire. */
  expiresAt: number;
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
  const orgs = new Map<string, OrganizationEntry>();
  const keys = createKeyedIndex<KeyRecord>(); // by SHA-256 (latin1)
  const credentials = new Map<string, CredentialRecord>();
  const routes = new Map<string, RouteEntry>(); // by id
  const compiled = new Map<string, Map<string, CompiledRoute>>(); // org -> model -> route
  const routesByCredential = new Map<string, Set<string>>(); // credential id -> route ids
  const metricsTokens = createKeyedIndex<{ expiresAt: number }>(); // by SHA-256 (latin1)
  const policies = createKeyedIndex<Policy>(); // by "<org>" or "<org>/<key>"
  const memberships = new Map<string, MembershipEntry>(); // by id
  const bySubject = new Map<string, Map<string, MembershipEntry>>(); // "<issuer>\0<subject>" -> id -> entry
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
  function putMembership(e: MembershipEntry): void {
    removeMembership(e.id);
    const subject = `${e.issuer}\u0000${e.subject}`;
    memberships.set(e.id, e);
    let group = bySubject.get(subject);
    if (!group) {
      group = new Map();
      bySubject.set(subject, group);
    }
    group.set(e.id, e);
  }

  function removeMembership(id: string): void {
    const old = memberships.get(id);
    if (!old) return;
    memberships.delete(id);
    const subject = `${old.issuer}\u0000${old.subject}`;
    const group = bySubject.get(subject);
    group?.delete(id);
    if (group?.size === 0) bySubject.delete(subject);
  }
  const putOrganization = (e: OrganizationEntry) => {
    const old = orgs.get(e.id);
    if (old) orgBySlug.delete(old.slug);
    const id = intern(e.id);
    orgs.set(id, e);
    orgBySlug.set(e.slug, id);
  };

  function setCompiled(route: RouteEntry): void {
    let byModel = compiled.get(route.orgId);
    if (!byModel) {
      byModel = new Map();
      compiled.set(intern(route.orgId), byModel);
    }
    byModel.set(intern(route.model), compileRoute(route, credentials));
  }

  function removeCompiled(route: RouteEntry): void {
    compiled.get(route.orgId)?.delete(route.model);
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
    const provider = findProvider(e.provider);
    if (!provider) {
      credentials.delete(e.id); // a provider this build does not know: not routable
      return;
    }
    let base: URL;
    try {
      base = new URL(resolveBaseUrl(provider, e.settings));
    } catch {
      credentials.delete(e.id); // the control plane validates URLs; never route to a malformed one
      return;
    }
    credentials.set(e.id, {
      id: e.id,
      orgId: e.orgId,
      provider,
      entry: e,
      origin: base.origin,
      basePath: base.pathname.replace(/\/+$/, ""),
      models: new Set(e.models),
    });
  }

  function applyChange(change: TableChange["change"], touchedCredentials: Set<string>): void {
    const c = { change };
    switch (c.change.case) {
      case "upsertOrganization":
        putOrganization(c.change.value);
        break;
      case "removeOrganizationId": {
        const old = orgs.get(c.change.value);
        if (old) orgBySlug.delete(old.slug);
        orgs.delete(c.change.value);
        break;
      }
      case "upsertApiKey": {
        const e = c.change.value;
        keys.put(e.id, hashKey(e.keyHash), {
          id: e.id,
          orgId: intern(e.orgId),
          userId: e.userId,
          expiresAt: epochMs(e.expiresAt),
        });
        break;
      }
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
        putMembership(c.change.value);
        break;
      case "removeMembershipId":
        removeMembership(c.change.value);
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
    for (const index of [orgs, orgBySlug, canonical, credentials, routes, compiled, memberships, bySubject])
      index.clear();
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
      if (!key) return undefined;
      // Most keys never expire: no clock read for them.
      if (key.expiresAt !== Number.POSITIVE_INFINITY && key.expiresAt <= Date.now()) return undefined;
      const org = orgs.get(key.orgId);
      if (!org || org.disabled) return undefined;
      return key;
    },
    findRoute(orgId, model) {
      return compiled.get(orgId)?.get(model);
    },
    modelsOf: (orgId) => [...(compiled.get(orgId)?.keys() ?? [])],
    findCredential: (id) => credentials.get(id),
    orgSlug: (orgId) => orgs.get(orgId)?.slug,
    policyFor(orgId, apiKeyId) {
      return policies.get(scopeOf(orgId, apiKeyId)) ?? policies.get(orgId);
    },
    membershipsOf: (issuer, subject) => [...(bySubject.get(`${issuer}\u0000${subject}`)?.values() ?? [])],
    orgIdBySlug: (slug) => orgBySlug.get(slug),
    isOrgActive: (orgId) => orgs.get(orgId)?.disabled === false,
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
      organizations: orgs.size,
    }),
  };
}
