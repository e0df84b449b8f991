import { findProvider, resolveBaseUrl } from "../../../lib/src/provider-catalog.js";
import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type {
  CredentialEntry,
  RouteEntry,
  RouteTarget,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CredentialRecord } from "./routing-table.js";

export interface CompiledTarget {
  credential: CredentialRecord;
  upstreamModel: string;
  /** Effective weight: the target's weight times its credential's weight. */
  weight: number;
  /** Running sum of weights up to and including this target. */
  cumulative: number;
}

/** Targets to pick one from by weight. */
export interface Weighted {
  targets: readonly CompiledTarget[];
  totalWeight: number;
}

/** One step of a route: the primary targets (step 0) or one fallback step. */
export interface CompiledStep extends Weighted {
  /** Error classes that send traffic to this step; empty for the primary step. */
  triggers: ReadonlySet<ErrorClass>;
}

/**
 * A route with its eligible targets precomputed, so picking one is a scan over a short array.
 * `targets` and `totalWeight` are the primary step's (`steps[0]`), also on the route so the
 * first pick reads neither the step list nor the step (issue 8, target 5).
 */
export interface CompiledRoute extends Weighted {
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
  const primary = compileStep(route, route.targets, NO_TRIGGERS, credentials);
  const steps = [primary];
  for (const step of route.fallbacks) {
    steps.push(compileStep(route, step.targets, new Set(step.triggers), credentials));
  }
  return {
    targets: primary.targets,
    totalWeight: primary.totalWeight,
    orgId: route.orgId,
    model: route.model,
    steps,
  };
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
  step: Weighted,
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

/**
 * A credential ready to call (provider row resolved, base URL normalised); undefined when it
 * cannot be routed to: a provider this build does not know, or a malformed base URL (the control
 * plane validates URLs; never route to a malformed one).
 */
export function credentialRecord(e: CredentialEntry): CredentialRecord | undefined {
  const provider = findProvider(e.provider);
  if (!provider) return undefined;
  let base: URL;
  try {
    base = new URL(resolveBaseUrl(provider, e.settings));
  } catch {
    return undefined;
  }
  return {
    id: e.id,
    orgId: e.orgId,
    provider,
    entry: e,
    origin: base.origin,
    basePath: base.pathname.replace(/\/+$/, ""),
    models: new Set(e.models),
  };
}
