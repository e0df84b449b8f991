import { randomUUID } from "node:crypto";
import { create, fromJson, type JsonValue, toJson } from "@bufbuild/protobuf";
import { Code, ConnectError, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  type PolicyRecord,
  PolicyRecordSchema,
  type PolicyService,
} from "../../../proto/gen/llmgateway/v1/policy_service_pb.js";
import {
  BudgetAction,
  PiiMode,
  type Policy,
  PolicySchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize, type Permission } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireUuid } from "./validate.js";

interface PolicyRow {
  id: string;
  org_id: string;
  api_key_id: string | null;
  policy: JsonValue;
  updated_at: Date;
}

const MAX_MODELS = 500;

function toRecord(r: PolicyRow): PolicyRecord {
  return create(PolicyRecordSchema, {
    orgId: r.org_id,
    apiKeyId: r.api_key_id ?? "",
    policy: fromJson(PolicySchema, r.policy),
    ...optTs("updatedAt", r.updated_at),
  });
}

/** Rejects values a worker could not enforce sensibly; each message names the field. */
export function validatePolicy(p: Policy | undefined): Policy {
  const policy = p ?? create(PolicySchema);
  const bad = (field: string, rule: string) =>
    new ConnectError(`policy.${field} ${rule}`, Code.InvalidArgument);
  if (policy.requestsPerMinute > 1_000_000) throw bad("requests_per_minute", "must be at most 1000000");
  if (policy.tokensPerMinute > 10_000_000_000n) throw bad("tokens_per_minute", "must be at most 10000000000");
  if (!Number.isFinite(policy.monthlyBudgetUsd) || policy.monthlyBudgetUsd < 0) {
    throw bad("monthly_budget_usd", "must be a non-negative number");
  }
  if (policy.monthlyBudgetUsd > 0 && policy.budgetAction === BudgetAction.UNSPECIFIED) {
    throw bad("budget_action", "is required with a budget (BUDGET_ACTION_BLOCK or BUDGET_ACTION_ALERT)");
  }
  if (policy.piiMode === PiiMode.UNSPECIFIED) policy.piiMode = PiiMode.OFF;
  if (policy.cacheEnabled && (policy.cacheTtlSeconds < 1 || policy.cacheTtlSeconds > 86_400)) {
    throw bad("cache_ttl_seconds", "must be between 1 and 86400 when the cache is enabled");
  }
  const models = policy.approvedModels.map((m) => m.trim());
  if (models.some((m) => m === "")) throw bad("approved_models", "must not contain empty names");
  if (models.length > MAX_MODELS) throw bad("approved_models", `has more than ${MAX_MODELS} entries`);
  policy.approvedModels = [...new Set(models)];
  return policy;
}

const findRow = async (db: Queryable, orgId: string, keyId: string | null) =>
  (
    await db.query<PolicyRow>(
      "SELECT * FROM policies WHERE org_id = $1 AND api_key_id IS NOT DISTINCT FROM $2::uuid",
      [orgId, keyId],
    )
  ).rows[0];

export function createPolicyService(deps: ServiceDeps): ServiceImpl<typeof PolicyService> {
  /** The org and (optional) key a request is about, after authorization. */
  function scope(req: { orgId: string; apiKeyId: string }, ctx: HandlerContext, permission: Permission) {
    const principal = requirePrincipal(ctx);
    const orgId = requireUuid(req.orgId, "org_id");
    authorize(principal, permission, orgId);
    const keyId = req.apiKeyId ? requireUuid(req.apiKeyId, "api_key_id") : null;
    return { principal, orgId, keyId };
  }

  return {
    async getPolicy(req, ctx) {
      const { orgId, keyId } = scope(req, ctx, "policies.read");
      const row = await read("policy", () => findRow(deps.db, orgId, keyId));
      return {
        record: row
          ? toRecord(row)
          : create(PolicyRecordSchema, { orgId, apiKeyId: keyId ?? "", policy: {} }),
      };
    },

    async listPolicies(req, ctx) {
      const { orgId } = scope({ orgId: req.orgId, apiKeyId: "" }, ctx, "policies.read");
      const rows = await read(
        "policies",
        async () =>
          (
            await deps.db.query<PolicyRow>(
              "SELECT * FROM policies WHERE org_id = $1 ORDER BY api_key_id NULLS FIRST",
              [orgId],
            )
          ).rows,
      );
      return { records: rows.map(toRecord) };
    },

    async putPolicy(req, ctx) {
      const { principal, orgId, keyId } = scope(req, ctx, "policies.manage");
      const policy = validatePolicy(req.policy);
      const reason = requireReason(req.reason);
      const json = toJson(PolicySchema, policy);
      const row = await commitChange(deps, "policy", async (tx) => {
        if (keyId) {
          const key = await tx.query("SELECT 1 FROM api_keys WHERE id = $1 AND org_id = $2", [keyId, orgId]);
          if (key.rows.length === 0)
            throw new ConnectError("api_key_id not found in this organization", Code.NotFound);
        }
        const before = await findRow(tx, orgId, keyId);
        const after = (
          await tx.query<PolicyRow>(
            before
              ? "UPDATE policies SET policy = $2, updated_at = now() WHERE id = $1 RETURNING *"
              : "INSERT INTO policies (id, policy, org_id, api_key_id) VALUES ($1, $2, $3, $4) RETURNING *",
            before ? [before.id, json] : [randomUUID(), json, orgId, keyId],
          )
        ).rows[0] as PolicyRow;
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: before ? "policy.update" : "policy.create",
          resourceType: "policy",
          resourceId: after.id,
          before: before ? { apiKeyId: keyId, policy: before.policy } : undefined,
          after: { apiKeyId: keyId, policy: after.policy },
          reason,
        });
        await recordChanges(tx, [{ kind: "policy", id: after.id }]);
        return after;
      });
      return { record: toRecord(row) };
    },

    async deletePolicy(req, ctx) {
      const { principal, orgId, keyId } = scope(req, ctx, "policies.manage");
      const reason = requireReason(req.reason);
      await commitChange(deps, "policy", async (tx) => {
        const before = await findRow(tx, orgId, keyId);
        if (!before) return;
        await tx.query("DELETE FROM policies WHERE id = $1", [before.id]);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "policy.delete",
          resourceType: "policy",
          resourceId: before.id,
          before: { apiKeyId: keyId, policy: before.policy },
          reason,
        });
        await recordChanges(tx, [{ kind: "policy", id: before.id }]);
      });
      return {};
    },
  };
}
