import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { RouteEntry, RouteTarget } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CredentialRecord } from "./routing-table.js";

export interface CompiledTarget {
  credential: CredentialRecord;
  upstreamModel: string;
  /** Effective weight: the target's weight times its credential's weight. */
  weight: number;
  /** Running sum of weights up to and including this target. */
  cumulative: number;
}

/** One step of a route: the primary targets (step 0) or one fallback step. */
export interface CompiledStep {
  targets: readonly CompiledTarget[];
  totalWeight: number;
  /** Error classes that send traffic to this step; empty for the primary step. */
  triggers: ReadonlySet<ErrorClass>;
}

/** A route with its eligible targets precomputed, so picking one is a scan over a short array. */
export interface CompiledRoute {
  orgId: string;
  model: string;
  /** Step 0 holds the primary targets, then the fallback chain in order. */
  steps: readonly CompiledStep[];
}

function compileStep(
  route: RouteEntry,
  targets: readonly RouteTarget[],
  triggers: ReadonlySet<ErrorClass>,
  credentials: ReadonlyMap<string, CredentialRecord>,
): CompiledStep {
  const out: CompiledTarget[] = [];
  let total = 0;
  for (const t of targets) {
    const credential = credentials.get(t.credentialId);
    // The control plane checks ownership on write; the worker checks again so a
    // bad row can never send one tenant's traffic on another tenant's key.
    if (!credential?.entry.enabled || credential.orgId !== route.orgId) continue;
    const upstreamModel = t.upstreamModel || route.model;
    if (credential.models.size > 0 && !credential.models.has(upstreamModel)) continue;
    const weight = t.weight * Math.max(credential.entry.weight, 0);
    if (weight <= 0) continue;
    total += weight;
    out.push({ credential, upstreamModel, weight, cumulative: total });
  }
  return { targets: out, totalWeight: total, triggers };
}

const NO_TRIGGERS: ReadonlySet<ErrorClass> = new Set();

/**
 * Keeps the targets whose credential exists, is enabled, serves the model and
 * has a positive weight, for the primary step and each fallback step. A step
 * with none is kept (empty) so the engine can tell "disabled" from "unknown
 * model" and move on to the fallbacks.
 */
export function compileRoute(
  route: RouteEntry,
  credentials: ReadonlyMap<string, CredentialRecord>,
): CompiledRoute {
  const steps = [compileStep(route, route.targets, NO_TRIGGERS, credentials)];
  for (const step of route.fallbacks) {
    steps.push(compileStep(route, step.targets, new Set(step.triggers), credentials));
  }
  return { orgId: route.orgId, model: route.model, steps };
}

/** Every credential a route can send traffic to, for recompiling it when one changes. */
export function credentialIdsOf(route: RouteEntry): Set<string> {
  const ids = new Set<string>();
  for (const t of route.targets) ids.add(t.credentialId);
  for (const step of route.fallbacks) for (const t of step.targets) ids.add(t.credentialId);
  return ids;
}

/**
 * Weighted random choice among the targets `allowed` accepts (all when it is
 * omitted); `random` is injectable for tests.
 */
export function pickTarget(
  step: CompiledStep,
  allowed?: (t: CompiledTarget) => boolean,
  random: () => number = Math.random,
): CompiledTarget | undefined {
  const { targets } = step;
  if (!allowed) {
    if (targets.length <= 1) return targets[0];
    const r = random() * step.totalWeight;
    for (const t of targets) if (r < t.cumulative) return t;
    return targets[targets.length - 1];
  }
  let total = 0;
  for (const t of targets) if (allowed(t)) total += t.weight;
  if (total <= 0) return undefined;
  let r = random() * total;
  let last: CompiledTarget | undefined;
  for (const t of targets) {
    if (!allowed(t)) continue;
    last = t;
    if (r < t.weight) return t;
    r -= t.weight;
  }
  return last;
}
