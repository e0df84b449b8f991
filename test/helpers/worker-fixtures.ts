import { create } from "@bufbuild/protobuf";
import { findProvider, type ProviderInfo } from "../../lib/src/provider-catalog.js";
import { CredentialEntrySchema } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { type CredentialHealth, createCredentialHealth } from "../../worker/src/routing/health.js";
import type { CredentialRecord } from "../../worker/src/table/routing-table.js";

/** A credential record of organization "org" as the worker's routing table holds it. */
export function credential(id = "c1"): CredentialRecord {
  return {
    id,
    orgId: "org",
    provider: findProvider("openai") as ProviderInfo,
    entry: create(CredentialEntrySchema, {
      id,
      orgId: "org",
      provider: "openai",
      name: id,
      enabled: true,
      weight: 1,
    }),
    origin: "http://127.0.0.1:1",
    basePath: "/v1",
    models: new Set(),
  };
}

/**
 * Credential health for the engine's tests: the circuit opens after `consecutiveFailures` in a
 * row (the failure rate never trips it), stays open 10 s; cooldowns of a minute, 1 s for 429s.
 */
export function engineHealth(consecutiveFailures: number): CredentialHealth {
  return createCredentialHealth({
    consecutiveFailures,
    failureRate: 1,
    minRequests: 1000,
    windowMs: 10_000,
    openMs: 10_000,
    maxOpenMs: 60_000,
    authOpenMs: 60_000,
    quotaCooldownMs: 60_000,
    rateLimitCooldownMs: 1000,
    maxCooldownMs: 60_000,
  });
}
