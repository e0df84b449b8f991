import { Gauge, type Registry } from "prom-client";
import type { ActualCost } from "../pricing/table-entries.js";
import type { RoutingTable } from "../table/routing-table.js";

export type { ActualCost };

/** What the actual-cost gauge reads from the routing table. */
export type ActualCostTable = Pick<RoutingTable, "orgSlug" | "findCredential"> & {
  actualCosts(): Iterable<ActualCost>;
};

/**
 * llm_gateway_actual_cost_usd: the providers' billed amounts the billing sync
 * puts in the routing table, read when scraped (present, without series, when
 * there are none); amounts with the same labels add up. Registered even with
 * the request metrics off: it costs requests nothing.
 */
export function registerActualCost(registry: Registry, table: ActualCostTable): void {
  new Gauge({
    name: "llm_gateway_actual_cost_usd",
    // every worker process reads the same routing table: in a cluster, one copy
    aggregator: "first",
    help: "Actual provider spend in USD per billing period, from the providers' billing data.",
    labelNames: ["organization", "provider", "credential", "period"],
    registers: [registry],
    collect() {
      this.reset();
      for (const c of table.actualCosts()) {
        this.inc(
          {
            organization: table.orgSlug(c.orgId) ?? c.orgId,
            provider: c.provider,
            credential: table.findCredential(c.credentialId)?.entry.name ?? c.credentialId,
            period: c.period,
          },
          c.amountUsd,
        );
      }
    },
  });
}
