import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";

/** What the routing engine does when an attempt fails with a class. docs/routing.md has the same table. */
export interface ClassAction {
  /** Try another target of the same step (another credential of the model group may succeed). */
  otherTargets: boolean;
  /** When no other target or fallback is left, call the same target again after a wait. */
  sameTarget: boolean;
  /** Move to a fallback step that lists the class among its triggers. */
  fallback: boolean;
}

const act = (otherTargets: boolean, sameTarget: boolean, fallback: boolean): ClassAction => ({
  otherTargets,
  sameTarget,
  fallback,
});

export const ACTIONS: Readonly<Record<ErrorClass, ClassAction>> = {
  [ErrorClass.UNSPECIFIED]: act(false, false, false),
  // No attempt was made: the step had no eligible target.
  [ErrorClass.DISABLED]: act(false, false, true),
  // Connection errors, 5xx, 529: another credential, then the fallback, then the same one after backoff.
  [ErrorClass.UNAVAILABLE]: act(true, true, true),
  // Retry-After is honoured: the credential cools down; the same one is called again only after it.
  [ErrorClass.RATE_LIMITED]: act(true, true, true),
  // A slow provider is not called again for the same request.
  [ErrorClass.TIMEOUT]: act(true, false, true),
  // Skip to the next target without retrying: the quota will not come back within a request.
  [ErrorClass.QUOTA_EXHAUSTED]: act(true, false, true),
  // The credential is failing (its circuit opens and an operational event is raised).
  [ErrorClass.AUTH]: act(true, false, true),
  // Another credential of the same model answers the same: only a fallback (a larger model) helps.
  [ErrorClass.CONTEXT_LENGTH_EXCEEDED]: act(false, false, true),
  [ErrorClass.CONTENT_FILTER]: act(false, false, true),
  // Never retried, never a fallback trigger: returned to the client as it is.
  [ErrorClass.BAD_REQUEST]: act(false, false, false),
  [ErrorClass.MALFORMED_RESPONSE]: act(true, true, true),
};

/** Whether a fallback step with these triggers takes a failure of class `c`. */
export function triggers(stepTriggers: ReadonlySet<ErrorClass>, c: ErrorClass): boolean {
  if (stepTriggers.has(c)) return true;
  // A reply the gateway cannot read is the provider failing: steps for UNAVAILABLE take it too.
  return c === ErrorClass.MALFORMED_RESPONSE && stepTriggers.has(ErrorClass.UNAVAILABLE);
}

/** Lower-case name of a class for logs, metrics labels and audit details ("rate_limited"). */
export function className(c: ErrorClass): string {
  return (ErrorClass[c] ?? "UNSPECIFIED").toLowerCase();
}
