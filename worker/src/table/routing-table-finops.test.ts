import { create, type MessageInitShape } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import {
  ActualCostEntrySchema,
  PriceOverrideEntrySchema,
  RoutingTableDeltaSchema,
  RoutingTableSchema,
  type TableChange,
  TableChangeSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import {
  type WatchRoutingTableResponse,
  WatchRoutingTableResponseSchema,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { createRoutingTable } from "./routing-table.js";

const snapshot = (
  version: number,
  table: MessageInitShape<typeof RoutingTableSchema>,
): WatchRoutingTableResponse =>
  create(WatchRoutingTableResponseSchema, {
    version: BigInt(version),
    payload: { case: "snapshot", value: create(RoutingTableSchema, table) },
  });

const delta = (version: number, changes: TableChange["change"][]): WatchRoutingTableResponse =>
  create(WatchRoutingTableResponseSchema, {
    version: BigInt(version),
    payload: {
      case: "delta",
      value: create(RoutingTableDeltaSchema, {
        fromVersion: BigInt(version - 1),
        changes: changes.map((change) => create(TableChangeSchema, { change })),
      }),
    },
  });

const override = (id: string, orgId: string, model: string, input: number) =>
  create(PriceOverrideEntrySchema, {
    id,
    orgId,
    provider: "openai",
    model,
    inputPerMillion: input,
    outputPerMillion: 2 * input,
    cachedInputPerMillion: input / 2,
    effectiveFrom: "2025-01-01",
  });

const cost = (id: string, period: string, amountUsd: number, credentialId = "") =>
  create(ActualCostEntrySchema, { id, orgId: "org-a", provider: "openai", credentialId, period, amountUsd });

describe("routing table: price overrides and actual costs", () => {
  it("looks overrides up by organization, provider and model, through snapshots and deltas", () => {
    const table = createRoutingTable();
    table.apply(snapshot(1, { priceOverrides: [override("p1", "org-a", "gpt-4o", 1)] }));
    expect(table.priceOverride("org-a", "openai", "gpt-4o")).toEqual({
      inputPerMillion: 1,
      outputPerMillion: 2,
      cachedInputPerMillion: 0.5,
      effectiveFrom: "2025-01-01",
    });
    expect(table.priceOverride("org-b", "openai", "gpt-4o")).toBeUndefined();
    expect(table.priceOverride("org-a", "azure-openai", "gpt-4o")).toBeUndefined();
    // the same override id now for another model: the old model loses it
    table.apply(
      delta(2, [{ case: "upsertPriceOverride", value: override("p1", "org-a", "gpt-4o-mini", 3) }]),
    );
    expect(table.priceOverride("org-a", "openai", "gpt-4o")).toBeUndefined();
    expect(table.priceOverride("org-a", "openai", "gpt-4o-mini")?.inputPerMillion).toBe(3);
    table.apply(delta(3, [{ case: "removePriceOverrideId", value: "p1" }]));
    expect(table.priceOverride("org-a", "openai", "gpt-4o-mini")).toBeUndefined();
    table.apply(delta(4, [{ case: "upsertPriceOverride", value: override("p2", "org-a", "o3", 4) }]));
    table.apply(snapshot(5, {}));
    expect(table.priceOverride("org-a", "openai", "o3")).toBeUndefined(); // a snapshot replaces everything
  });

  it("exposes actual costs per organization, provider, credential and month", () => {
    const table = createRoutingTable();
    table.apply(
      snapshot(1, { actualCosts: [cost("a1", "2026-10", 120.5), cost("a2", "2026-11", 30, "cred-1")] }),
    );
    expect([...table.actualCosts()]).toEqual([
      { orgId: "org-a", provider: "openai", credentialId: "", period: "2026-10", amountUsd: 120.5 },
      { orgId: "org-a", provider: "openai", credentialId: "cred-1", period: "2026-11", amountUsd: 30 },
    ]);
    table.apply(
      delta(2, [
        { case: "upsertActualCost", value: cost("a2", "2026-11", 42.25, "cred-1") },
        { case: "removeActualCostId", value: "a1" },
      ]),
    );
    expect([...table.actualCosts()]).toEqual([
      { orgId: "org-a", provider: "openai", credentialId: "cred-1", period: "2026-11", amountUsd: 42.25 },
    ]);
  });
});
