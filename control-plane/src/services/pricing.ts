import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import { catalogAt } from "../../../lib/src/pricing-catalog.js";
import { findProvider } from "../../../lib/src/provider-catalog.js";
import {
  type Price,
  PriceSchema,
  type PricingService,
} from "../../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireText, requireUuid } from "./validate.js";

interface OverrideRow {
  id: string;
  provider: string;
  model: string;
  input_per_million: number;
  output_per_million: number;
  cached_input_per_million: number;
  effective_from: string;
  updated_at: Date;
}

const MAX_PRICE = 10_000;
const isoDate = (d: Date) => d.toISOString().slice(0, 10);

function fromOverride(r: OverrideRow): Price {
  return create(PriceSchema, {
    provider: r.provider,
    model: r.model,
    inputPerMillion: r.input_per_million,
    outputPerMillion: r.output_per_million,
    cachedInputPerMillion: r.cached_input_per_million,
    effectiveFrom: r.effective_from,
    source: "override",
    ...optTs("updatedAt", r.updated_at),
  });
}

function checkPrice(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0 || value > MAX_PRICE) {
    throw new ConnectError(
      `price.${field} must be between 0 and ${MAX_PRICE} USD per million tokens`,
      Code.InvalidArgument,
    );
  }
  return value;
}

export function createPricingService(deps: ServiceDeps): ServiceImpl<typeof PricingService> {
  return {
    async listPrices(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "pricing.read", orgId);
      const rows = await read(
        "prices",
        async () =>
          (await deps.db.query<OverrideRow>("SELECT * FROM price_overrides WHERE org_id = $1", [orgId])).rows,
      );
      const overridden = new Set(rows.map((r) => `${r.provider}\u0000${r.model}`));
      // The catalog as in force now; an override replaces its model's row.
      const catalog = catalogAt(Date.now())
        .filter((c) => !overridden.has(`${c.provider}\u0000${c.model}`))
        .map((c) => create(PriceSchema, { ...c, source: "catalog" }));
      const prices = [...rows.map(fromOverride), ...catalog].sort(
        (a, b) => a.provider.localeCompare(b.provider) || a.model.localeCompare(b.model),
      );
      return { prices };
    },

    async putPriceOverride(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "pricing.manage", orgId);
      const p = req.price;
      if (!p) throw new ConnectError("price is required", Code.InvalidArgument);
      const provider = requireText(p.provider, "price.provider");
      if (!findProvider(provider))
        throw new ConnectError(`price.provider "${provider}" is not supported`, Code.InvalidArgument);
      const model = requireText(p.model, "price.model");
      const effectiveFrom = p.effectiveFrom || isoDate(new Date());
      if (!/^\d{4}-\d{2}-\d{2}$/.test(effectiveFrom) || Number.isNaN(Date.parse(effectiveFrom))) {
        throw new ConnectError("price.effective_from must be a date YYYY-MM-DD", Code.InvalidArgument);
      }
      const values = [
        checkPrice(p.inputPerMillion, "input_per_million"),
        checkPrice(p.outputPerMillion, "output_per_million"),
        checkPrice(p.cachedInputPerMillion, "cached_input_per_million"),
      ];
      const reason = requireReason(req.reason);
      const row = await commitChange(deps, "price override", async (tx) => {
        const before = (
          await tx.query<OverrideRow>(
            "SELECT * FROM price_overrides WHERE org_id = $1 AND provider = $2 AND model = $3 FOR UPDATE",
            [orgId, provider, model],
          )
        ).rows[0];
        const after = (
          await tx.query<OverrideRow>(
            `INSERT INTO price_overrides (org_id, provider, model, input_per_million, output_per_million, cached_input_per_million, effective_from)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (org_id, provider, model) DO UPDATE SET input_per_million = EXCLUDED.input_per_million,
               output_per_million = EXCLUDED.output_per_million, cached_input_per_million = EXCLUDED.cached_input_per_million,
               effective_from = EXCLUDED.effective_from, updated_at = now()
             RETURNING *`,
            [orgId, provider, model, ...values, effectiveFrom],
          )
        ).rows[0] as OverrideRow;
        const view = (r: OverrideRow) => ({
          input: r.input_per_million,
          output: r.output_per_million,
          cachedInput: r.cached_input_per_million,
          effectiveFrom: r.effective_from,
        });
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: before ? "price_override.update" : "price_override.create",
          resourceType: "price_override",
          resourceId: `${provider}/${model}`,
          before: before ? view(before) : undefined,
          after: view(after),
          reason,
        });
        await recordChanges(tx, [{ kind: "price_override", id: after.id }]);
        return after;
      });
      return { price: fromOverride(row) };
    },

    async deletePriceOverride(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "pricing.manage", orgId);
      const provider = requireText(req.provider, "provider");
      const model = requireText(req.model, "model");
      const reason = requireReason(req.reason);
      await commitChange(deps, "price override", async (tx) => {
        const { rows } = await tx.query<{ id: string }>(
          "DELETE FROM price_overrides WHERE org_id = $1 AND provider = $2 AND model = $3 RETURNING id",
          [orgId, provider, model],
        );
        const removed = rows[0];
        if (!removed) return;
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "price_override.delete",
          resourceType: "price_override",
          resourceId: `${provider}/${model}`,
          reason,
        });
        await recordChanges(tx, [{ kind: "price_override", id: removed.id }]);
      });
      return {};
    },
  };
}
