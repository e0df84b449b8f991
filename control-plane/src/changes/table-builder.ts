import { create, fromJson } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  type ActualCostEntry,
  ActualCostEntrySchema,
  type ApiKeyEntry,
  ApiKeyEntrySchema,
  type CredentialEntry,
  CredentialEntrySchema,
  type MembershipEntry,
  MembershipEntrySchema,
  type MetricsTokenEntry,
  MetricsTokenEntrySchema,
  type OrganizationEntry,
  OrganizationEntrySchema,
  type PolicyEntry,
  PolicyEntrySchema,
  PolicySchema,
  type PriceOverrideEntry,
  PriceOverrideEntrySchema,
  type RouteEntry,
  RouteEntrySchema,
  type RoutingTable,
  type RoutingTableDelta,
  RoutingTableDeltaSchema,
  RoutingTableSchema,
  type TableChange,
  TableChangeSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { roleFromDb } from "../auth/roles.js";
import type { SecretBox } from "../crypto/envelope.js";
import type { Queryable } from "../db/pool.js";
import {
  fallbacksToProto,
  type StoredFallback,
  type StoredTarget,
  settingsFromJson,
  targetsToProto,
} from "../services/mappers.js";
import type { EntityKind } from "./change-log.js";

/** Loads entities and compiles them into routing-table entries for workers. */
export interface TableBuilder {
  snapshot(db: Queryable): Promise<RoutingTable>;
  /** Changes for the entities that changed in (from, to]; caller runs this at version `to`. */
  delta(db: Queryable, from: number, to: number): Promise<RoutingTableDelta>;
}

type Filter = { ids: string[] } | "all";
type Change = TableChange["change"];

/** Upserts for the entities that still exist, removals for the ids that do not. */
function diff<E extends { id: string }>(
  ids: readonly string[],
  entities: readonly E[],
  upsert: (e: E) => Change,
  remove: (id: string) => Change,
): Change[] {
  const found = new Set(entities.map((e) => e.id));
  return [...entities.map(upsert), ...ids.filter((id) => !found.has(id)).map(remove)];
}

function where(filter: Filter, column = "id"): [string, unknown[]] {
  return filter === "all" ? ["", []] : [`WHERE ${column} = ANY($1::uuid[])`, [filter.ids]];
}

export function createTableBuilder(box: SecretBox): TableBuilder {
  async function organizations(db: Queryable, f: Filter): Promise<OrganizationEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(`SELECT id, slug, disabled FROM organizations ${w}`, p);
    return rows.map((r) => create(OrganizationEntrySchema, { id: r.id, slug: r.slug, disabled: r.disabled }));
  }

  async function apiKeys(db: Queryable, f: Filter): Promise<ApiKeyEntry[]> {
    const [w, p] = where(f);
    const cond = `${w ? `${w} AND` : "WHERE"} revoked_at IS NULL`;
    const { rows } = await db.query(
      `SELECT id, org_id, key_hash, role, user_id, expires_at FROM api_keys ${cond}`,
      p,
    );
    return rows.map((r) =>
      create(ApiKeyEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        keyHash: r.key_hash,
        role: roleFromDb(r.role),
        userId: r.user_id ?? "",
        ...(r.expires_at ? { expiresAt: timestampFromDate(r.expires_at) } : {}),
      }),
    );
  }

  async function credentials(db: Queryable, f: Filter): Promise<CredentialEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(
      `SELECT id, org_id, provider, name, secret_envelope, settings, models, weight, enabled FROM credentials ${w}`,
      p,
    );
    return rows.map((r) =>
      create(CredentialEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        provider: r.provider,
        name: r.name,
        secret: box.open(r.secret_envelope, `${r.org_id}:${r.id}`),
        settings: settingsFromJson(r.settings),
        models: r.models,
        weight: r.weight,
        enabled: r.enabled,
      }),
    );
  }

  async function routes(db: Queryable, f: Filter): Promise<RouteEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(`SELECT id, org_id, model, targets, fallbacks FROM routes ${w}`, p);
    return rows.map((r) =>
      create(RouteEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        model: r.model,
        targets: targetsToProto(r.targets as StoredTarget[]),
        fallbacks: fallbacksToProto(r.fallbacks as StoredFallback[]),
      }),
    );
  }

  async function metricsTokens(db: Queryable, f: Filter): Promise<MetricsTokenEntry[]> {
    const [w, p] = where(f);
    const cond = `${w ? `${w} AND` : "WHERE"} revoked_at IS NULL`;
    const { rows } = await db.query(`SELECT id, token_hash, expires_at FROM metrics_tokens ${cond}`, p);
    return rows.map((r) =>
      create(MetricsTokenEntrySchema, {
        id: r.id,
        tokenHash: r.token_hash,
        ...(r.expires_at ? { expiresAt: timestampFromDate(r.expires_at) } : {}),
      }),
    );
  }

  async function policies(db: Queryable, f: Filter): Promise<PolicyEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(`SELECT id, org_id, api_key_id, policy FROM policies ${w}`, p);
    return rows.map((r) =>
      create(PolicyEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        apiKeyId: r.api_key_id ?? "",
        policy: fromJson(PolicySchema, r.policy),
      }),
    );
  }

  async function memberships(db: Queryable, f: Filter): Promise<MembershipEntry[]> {
    const [w, p] = where(f, "m.id");
    const { rows } = await db.query(
      `SELECT m.id, m.user_id, u.issuer, u.subject, m.org_id, m.role FROM memberships m JOIN users u ON u.id = m.user_id ${w}`,
      p,
    );
    return rows.map((r) =>
      create(MembershipEntrySchema, {
        id: r.id,
        userId: r.user_id,
        issuer: r.issuer,
        subject: r.subject,
        orgId: r.org_id,
        role: roleFromDb(r.role),
      }),
    );
  }

  async function priceOverrides(db: Queryable, f: Filter): Promise<PriceOverrideEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(`SELECT * FROM price_overrides ${w}`, p);
    return rows.map((r) =>
      create(PriceOverrideEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        provider: r.provider,
        model: r.model,
        inputPerMillion: r.input_per_million,
        outputPerMillion: r.output_per_million,
        cachedInputPerMillion: r.cached_input_per_million,
        effectiveFrom: r.effective_from,
      }),
    );
  }

  async function actualCosts(db: Queryable, f: Filter): Promise<ActualCostEntry[]> {
    const [w, p] = where(f);
    const { rows } = await db.query(`SELECT * FROM actual_cost_totals ${w}`, p);
    return rows.map((r) =>
      create(ActualCostEntrySchema, {
        id: r.id,
        orgId: r.org_id,
        provider: r.provider,
        credentialId: r.credential_id ?? "",
        period: r.period,
        amountUsd: r.amount_usd,
      }),
    );
  }

  return {
    async snapshot(db) {
      return create(RoutingTableSchema, {
        organizations: await organizations(db, "all"),
        apiKeys: await apiKeys(db, "all"),
        credentials: await credentials(db, "all"),
        routes: await routes(db, "all"),
        metricsTokens: await metricsTokens(db, "all"),
        policies: await policies(db, "all"),
        memberships: await memberships(db, "all"),
        priceOverrides: await priceOverrides(db, "all"),
        actualCosts: await actualCosts(db, "all"),
      });
    },

    async delta(db, from, to) {
      const { rows } = await db.query<{ kind: EntityKind; ids: string[] }>(
        `SELECT kind, array_agg(DISTINCT entity_id::text) AS ids FROM config_changes
         WHERE version > $1 AND version <= $2 GROUP BY kind`,
        [from, to],
      );
      const loaders: Record<EntityKind, (ids: string[]) => Promise<Change[]>> = {
        organization: async (ids) =>
          diff(
            ids,
            await organizations(db, { ids }),
            (value) => ({ case: "upsertOrganization", value }),
            (value) => ({ case: "removeOrganizationId", value }),
          ),
        api_key: async (ids) =>
          diff(
            ids,
            await apiKeys(db, { ids }),
            (value) => ({ case: "upsertApiKey", value }),
            (value) => ({ case: "removeApiKeyId", value }),
          ),
        credential: async (ids) =>
          diff(
            ids,
            await credentials(db, { ids }),
            (value) => ({ case: "upsertCredential", value }),
            (value) => ({ case: "removeCredentialId", value }),
          ),
        route: async (ids) =>
          diff(
            ids,
            await routes(db, { ids }),
            (value) => ({ case: "upsertRoute", value }),
            (value) => ({ case: "removeRouteId", value }),
          ),
        metrics_token: async (ids) =>
          diff(
            ids,
            await metricsTokens(db, { ids }),
            (value) => ({ case: "upsertMetricsToken", value }),
            (value) => ({ case: "removeMetricsTokenId", value }),
          ),
        policy: async (ids) =>
          diff(
            ids,
            await policies(db, { ids }),
            (value) => ({ case: "upsertPolicy", value }),
            (value) => ({ case: "removePolicyId", value }),
          ),
        membership: async (ids) =>
          diff(
            ids,
            await memberships(db, { ids }),
            (value) => ({ case: "upsertMembership", value }),
            (value) => ({ case: "removeMembershipId", value }),
          ),
        price_override: async (ids) =>
          diff(
            ids,
            await priceOverrides(db, { ids }),
            (value) => ({ case: "upsertPriceOverride", value }),
            (value) => ({ case: "removePriceOverrideId", value }),
          ),
        actual_cost: async (ids) =>
          diff(
            ids,
            await actualCosts(db, { ids }),
            (value) => ({ case: "upsertActualCost", value }),
            (value) => ({ case: "removeActualCostId", value }),
          ),
      };
      const changes: TableChange[] = [];
      for (const { kind, ids } of rows) {
        for (const change of await loaders[kind](ids)) changes.push(create(TableChangeSchema, { change }));
      }
      return create(RoutingTableDeltaSchema, { fromVersion: BigInt(from), changes });
    },
  };
}
