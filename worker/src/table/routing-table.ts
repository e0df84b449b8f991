import type { Timestamp } from "@bufbuild/protobuf/wkt";
import { findProvider, type ProviderInfo } from "../../../lib/src/provider-catalog.js";
import type {
  ApiKeyEntry,
  CredentialEntry,
  MetricsTokenEntry,
  OrganizationEntry,
  Policy,
  PolicyEntry,
  RouteEntry,
  RoutingTable as RoutingTableMessage,
  TableChange,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { WatchRoutingTableResponse } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { type CompiledRoute, compileRoute } from "./compile.js";

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
  /** The policy of a key: its own override, else its organization's default, else none. */
  policyFor(orgId: string, apiKeyId: string): Policy | undefined;
  /** Whether a metrics scrape token (SHA-256 as a latin1 string) is valid now. */
  isMetricsToken(hash: string): boolean;
  stats(): { keys: number; credentials: number; routes: number; organizations: number };
}

/** Epoch ms of an optional timestamp; Infinity when unset (no expiry). */
function epochMs(t: Timestamp | undefined): number {
  return t ? Number(t.seconds) * 1000 + t.nanos / 1e6 : Number.POSITIVE_INFINITY;
}

export function createRoutingTable(): RoutingTable {
  let version = 0;
  let lastSyncAt = 0;
  const orgs = new Map<string, OrganizationEntry>();
  const keys = new Map<string, KeyRecord>(); // by hash
  const keyHashById = new Map<string, string>();
  const credentials = new Map<string, CredentialRecord>();
  const routes = new Map<string, RouteEntry>(); // by id
  const compiled = new Map<string, Map<string, CompiledRoute>>(); // org -> model -> route
  const metricsTokens = new Map<string, { id: string; expiresAt: number }>(); // by hash
  const policies = new Map<string, PolicyEntry>(); // by "<org>" or "<org>/<key>"
  const policyScopeById = new Map<string, string>();
  const scopeOf = (orgId: string, apiKeyId: string) => (apiKeyId ? `${orgId}/${apiKeyId}` : orgId);

  function putPolicy(e: PolicyEntry): void {
    removePolicy(e.id);
    const scope = scopeOf(e.orgId, e.apiKeyId);
    policies.set(scope, e);
    policyScopeById.set(e.id, scope);
  }

  function removePolicy(id: string): void {
    const scope = policyScopeById.get(id);
    if (scope !== undefined) policies.delete(scope);
    policyScopeById.delete(id);
  }
  const metricsHashById = new Map<string, string>();

  function putMetricsToken(e: MetricsTokenEntry): void {
    removeMetricsToken(e.id);
    const hash = Buffer.from(e.tokenHash).toString("latin1");
    metricsTokens.set(hash, { id: e.id, expiresAt: epochMs(e.expiresAt) });
    metricsHashById.set(e.id, hash);
  }

  function removeMetricsToken(id: string): void {
    const hash = metricsHashById.get(id);
    if (hash !== undefined) metricsTokens.delete(hash);
    metricsHashById.delete(id);
  }

  function setCompiled(route: RouteEntry): void {
    let byModel = compiled.get(route.orgId);
    if (!byModel) {
      byModel = new Map();
      compiled.set(route.orgId, byModel);
    }
    byModel.set(route.model, compileRoute(route, credentials));
  }

  function removeCompiled(route: RouteEntry): void {
    compiled.get(route.orgId)?.delete(route.model);
  }

  function putKey(e: ApiKeyEntry): void {
    removeKey(e.id);
    const hash = Buffer.from(e.keyHash).toString("latin1");
    const expiresAt = e.expiresAt
      ? Number(e.expiresAt.seconds) * 1000 + e.expiresAt.nanos / 1e6
      : Number.POSITIVE_INFINITY;
    keys.set(hash, { id: e.id, orgId: e.orgId, userId: e.userId, expiresAt });
    keyHashById.set(e.id, hash);
  }

  function removeKey(id: string): void {
    const hash = keyHashById.get(id);
    if (hash !== undefined) keys.delete(hash);
    keyHashById.delete(id);
  }

  function putCredential(e: CredentialEntry): void {
    const provider = findProvider(e.provider);
    if (!provider) {
      credentials.delete(e.id); // a provider this build does not know: not routable
      return;
    }
    let base: URL;
    try {
      base = new URL(e.settings?.baseUrl || provider.defaultBaseUrl);
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

  function applyChange(c: TableChange, touchedCredentials: Set<string>): void {
    switch (c.change.case) {
      case "upsertOrganization":
        orgs.set(c.change.value.id, c.change.value);
        break;
      case "removeOrganizationId":
        orgs.delete(c.change.value);
        break;
      case "upsertApiKey":
        putKey(c.change.value);
        break;
      case "removeApiKeyId":
        removeKey(c.change.value);
        break;
      case "upsertCredential":
        putCredential(c.change.value);
        touchedCredentials.add(c.change.value.id);
        break;
      case "removeCredentialId":
        credentials.delete(c.change.value);
        touchedCredentials.add(c.change.value);
        break;
      case "upsertRoute": {
        const old = routes.get(c.change.value.id);
        if (old) removeCompiled(old);
        routes.set(c.change.value.id, c.change.value);
        setCompiled(c.change.value);
        break;
      }
      case "upsertPolicy":
        putPolicy(c.change.value);
        break;
      case "removePolicyId":
        removePolicy(c.change.value);
        break;
      case "upsertMetricsToken":
        putMetricsToken(c.change.value);
        break;
      case "removeMetricsTokenId":
        removeMetricsToken(c.change.value);
        break;
      case "removeRouteId": {
        const old = routes.get(c.change.value);
        if (old) removeCompiled(old);
        routes.delete(c.change.value);
        break;
      }
    }
  }

  function loadSnapshot(t: RoutingTableMessage): void {
    orgs.clear();
    keys.clear();
    keyHashById.clear();
    credentials.clear();
    routes.clear();
    compiled.clear();
    metricsTokens.clear();
    metricsHashById.clear();
    policies.clear();
    policyScopeById.clear();
    for (const p of t.policies) putPolicy(p);
    for (const m of t.metricsTokens) putMetricsToken(m);
    for (const o of t.organizations) orgs.set(o.id, o);
    for (const k of t.apiKeys) putKey(k);
    for (const c of t.credentials) putCredential(c);
    for (const r of t.routes) {
      routes.set(r.id, r);
      setCompiled(r);
    }
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
        for (const c of payload.value.changes) applyChange(c, touched);
        if (touched.size > 0) {
          for (const r of routes.values()) {
            if (r.targets.some((t) => touched.has(t.credentialId))) setCompiled(r);
          }
        }
      } else {
        return; // heartbeat: version unchanged
      }
      version = Number(message.version);
    },
    findKey(hash) {
      const key = keys.get(hash);
      if (!key) return undefined;
      if (key.expiresAt <= Date.now()) return undefined;
      const org = orgs.get(key.orgId);
      if (!org || org.disabled) return undefined;
      return key;
    },
    findRoute(orgId, model) {
      return compiled.get(orgId)?.get(model);
    },
    policyFor(orgId, apiKeyId) {
      return (policies.get(scopeOf(orgId, apiKeyId)) ?? policies.get(orgId))?.policy;
    },
    isMetricsToken(hash) {
      const token = metricsTokens.get(hash);
      return token !== undefined && token.expiresAt > Date.now();
    },
    stats: () => ({
      keys: keys.size,
      credentials: credentials.size,
      routes: routes.size,
      organizations: orgs.size,
    }),
  };
}
