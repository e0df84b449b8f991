import type { RouteEntry } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CredentialRecord } from "./routing-table.js";

export interface CompiledTarget {
  credential: CredentialRecord;
  upstreamModel: string;
  /** Running sum of weights up to and including this target. */
  cumulative: number;
}

/** A route with its eligible targets precomputed, so picking one is a scan over a short array. */
export interface CompiledRoute {
  model: string;
  targets: readonly CompiledTarget[];
  totalWeight: number;
}

/**
 * Keeps the targets whose credential exists, is enabled, serves the model and
 * has a positive weight. A route with none is kept (empty) so the worker can
 * tell "unavailable" from "unknown model".
 */
export function compileRoute(
  route: RouteEntry,
  credentials: ReadonlyMap<string, CredentialRecord>,
): CompiledRoute {
  const targets: CompiledTarget[] = [];
  let total = 0;
  for (const t of route.targets) {
    const credential = credentials.get(t.credentialId);
    // The control plane checks ownership on write; the worker checks again so a
    // bad row can never send one tenant's traffic on another tenant's key.
    if (!credential?.entry.enabled || credential.orgId !== route.orgId) continue;
    const upstreamModel = t.upstreamModel || route.model;
    if (credential.models.size > 0 && !credential.models.has(upstreamModel)) continue;
    const weight = t.weight * Math.max(credential.entry.weight, 0);
    if (weight <= 0) continue;
    total += weight;
    targets.push({ credential, upstreamModel, cumulative: total });
  }
  return { model: route.model, targets, totalWeight: total };
}

/** Weighted random choice; `random` is injectable for tests. */
export function pickTarget(
  route: CompiledRoute,
  random: () => number = Math.random,
): CompiledTarget | undefined {
  const { targets } = route;
  if (targets.length <= 1) return targets[0];
  const r = random() * route.totalWeight;
  for (const t of targets) if (r < t.cumulative) return t;
  return targets[targets.length - 1];
}
