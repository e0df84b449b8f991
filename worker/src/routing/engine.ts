import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { CompiledRoute, CompiledStep, CompiledTarget } from "../table/compile.js";
import { pickTarget } from "../table/compile.js";
import { ACTIONS, triggers } from "./actions.js";
import { type AttemptFailure, deadlineFailure, noTargetFailure } from "./failures.js";
import type { CredentialHealth } from "./health.js";
import { backoffMs, type RetryBudget } from "./retry-budget.js";

export type { AttemptFailure } from "./failures.js";

/** What one call to a target produced. `aborted`: the client went away; nothing more is tried. */
export type AttemptResult<T> =
  | { ok: true; value: T }
  | { ok: false; failure: AttemptFailure }
  | { ok: false; aborted: true };

export interface RunResult<T> {
  /** The value of the successful attempt, else undefined. */
  value: T | undefined;
  /** The failure the client gets when there is no value. */
  failure: AttemptFailure | undefined;
  /** The target that served (or last failed); undefined when none was called. */
  target: CompiledTarget | undefined;
  attempts: number;
  /** 0: the primary step; n: the n-th fallback step. */
  fallbackDepth: number;
  /** The client went away. */
  aborted: boolean;
}

/** Hooks for metrics and operational events; called off the success path only. */
export interface EngineObserver {
  attemptFailed(target: CompiledTarget, failure: AttemptFailure, route: CompiledRoute): void;
  /** `from`: the target that failed (or was barred) in the step left; undefined when it had none. */
  fallback(
    route: CompiledRoute,
    toStep: number,
    errorClass: ErrorClass,
    from: CompiledTarget | undefined,
  ): void;
  retry(target: CompiledTarget, errorClass: ErrorClass): void;
  budgetExhausted(route: CompiledRoute): void;
}

export interface EngineOptions {
  health: CredentialHealth;
  budget: RetryBudget;
  observer: EngineObserver;
  /** Most upstream calls per request, first included. */
  maxAttempts: number;
  /** Calls of the same target again after a failure, when nothing else is left. */
  sameTargetRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Longest Retry-After (or open circuit) the engine waits out within a request. */
  maxWaitMs: number;
  now?: () => number;
  random?: () => number;
}

export interface RoutingEngine {
  /**
   * Routes one request: weighted choice among the eligible targets of the
   * primary step, other targets of the step, then the fallback chain, then
   * the same target after a wait, as the class of each failure allows, within
   * `deadline` (epoch ms) and the worker's retry budget. `drawn`: the weighted
   * pick of the primary step already made (by `pick`, which `ready` refused).
   */
  run<T>(
    route: CompiledRoute,
    attempt: (target: CompiledTarget) => Promise<AttemptResult<T>>,
    deadline: number,
    signal: AbortSignal,
    drawn?: CompiledTarget,
  ): Promise<RunResult<T>>;
  /**
   * The steps of `run`'s fast path (issue 8, target 5), which `run` takes itself; the handlers
   * call `run`. Taken one by one, they read:
   *
   *     const drawn = engine.pick(route);
   *     const result = engine.ready(drawn, deadline)
   *       ? engine.after(route, drawn, await attempt(drawn), attempt, deadline, signal)
   *       : engine.run(route, attempt, deadline, signal, drawn);
   *
   * `pick` is the weighted pick among the targets of the primary step (undefined when it has
   * none); it changes nothing.
   */
  pick(route: CompiledRoute): CompiledTarget | undefined;
  /**
   * Whether `drawn` may be called now with nothing to take or undo: before the deadline, and its
   * credential healthy (circuit closed, not cooling down). Then the request is deposited in the
   * retry budget, as `run` would, and the caller calls it. Else nothing is done and `run`, given
   * `drawn`, decides exactly as it would have after that pick (a half-open probe included).
   */
  ready(drawn: CompiledTarget | undefined, deadline: number): drawn is CompiledTarget;
  /**
   * After the call of the target `ready` accepted answered `out`: the result at once when it
   * served (its success recorded), else a promise of the routing that goes on as `run` would
   * have after that attempt.
   */
  after<T>(
    route: CompiledRoute,
    target: CompiledTarget,
    out: AttemptResult<T>,
    attempt: (target: CompiledTarget) => Promise<AttemptResult<T>>,
    deadline: number,
    signal: AbortSignal,
  ): RunResult<T> | Promise<RunResult<T>>;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener("abort", done, { once: true });
  });
}

export function createRoutingEngine(o: EngineOptions): RoutingEngine {
  const now = o.now ?? Date.now;
  const random = o.random ?? Math.random;
  const { health } = o;

  /**
   * Why a step offers nothing more: the class that ruled out the rest of it,
   * the failure met in it, and the health of its untried targets; DISABLED
   * when it has no eligible target at all.
   */
  function reasons(
    step: CompiledStep,
    leave: ErrorClass | undefined,
    last: AttemptFailure | undefined,
    tried: ReadonlySet<CompiledTarget> | undefined,
    t: number,
  ): ErrorClass[] {
    if (leave !== undefined) return [leave];
    if (step.targets.length === 0) return [ErrorClass.DISABLED];
    const out: ErrorClass[] = last ? [last.errorClass] : [];
    for (const target of step.targets) {
      if (tried?.has(target)) continue;
      const barred = health.barredBy(target.credential, t);
      if (barred !== undefined && !out.includes(barred)) out.push(barred);
    }
    if (out.length === 0) out.push(ErrorClass.UNAVAILABLE);
    return out;
  }

  /** The first later step whose triggers take one of the classes, or -1. */
  function nextStep(
    route: CompiledRoute,
    from: number,
    classes: readonly ErrorClass[],
  ): { step: number; errorClass: ErrorClass } {
    for (let i = from + 1; i < route.steps.length; i++) {
      const stepTriggers = (route.steps[i] as CompiledStep).triggers;
      for (const c of classes) {
        if (ACTIONS[c].fallback && triggers(stepTriggers, c)) return { step: i, errorClass: c };
      }
    }
    return { step: -1, errorClass: ErrorClass.UNSPECIFIED };
  }

  function pick(route: CompiledRoute): CompiledTarget | undefined {
    return pickTarget(route, undefined, random); // the primary step's targets, on the route
  }

  function ready(drawn: CompiledTarget | undefined, deadline: number): drawn is CompiledTarget {
    if (drawn === undefined) return false;
    const t = now();
    if (t >= deadline || !health.healthy(drawn.credential, t)) return false;
    o.budget.deposit();
    return true;
  }

  function after<T>(
    route: CompiledRoute,
    target: CompiledTarget,
    out: AttemptResult<T>,
    attempt: (target: CompiledTarget) => Promise<AttemptResult<T>>,
    deadline: number,
    signal: AbortSignal,
  ): RunResult<T> | Promise<RunResult<T>> {
    if (!out.ok) return loop(route, attempt, deadline, signal, 0, target, out);
    health.success(target.credential, now);
    return { value: out.value, failure: undefined, target, attempts: 1, fallbackDepth: 0, aborted: false };
  }

  /**
   * A healthy pick is called without entering the loop (no state, no closures but one
   * callback), and a success ends there; anything else goes through `loop`, which decides
   * exactly as if it had made the pick. (A healthy credential holds no probe slot, so an
   * attempt that throws leaves nothing to free.)
   */
  function run<T>(
    route: CompiledRoute,
    attempt: (target: CompiledTarget) => Promise<AttemptResult<T>>,
    deadline: number,
    signal: AbortSignal,
    drawn?: CompiledTarget,
  ): Promise<RunResult<T>> {
    if (drawn === undefined) {
      const target = pick(route);
      if (ready(target, deadline)) {
        let pending: Promise<AttemptResult<T>>;
        try {
          pending = attempt(target);
        } catch (err) {
          return Promise.reject(err);
        }
        return pending.then((out) => after(route, target, out, attempt, deadline, signal));
      }
      drawn = target;
    }
    o.budget.deposit();
    return loop(route, attempt, deadline, signal, now(), drawn, undefined);
  }

  /**
   * Everything but the fast path. `first` is the weighted pick of the primary step: not yet
   * checked when `firstOut` is undefined (the first iteration then runs at `t0`), else the
   * target called, which answered `firstOut`.
   */
  async function loop<T>(
    route: CompiledRoute,
    attempt: (target: CompiledTarget) => Promise<AttemptResult<T>>,
    deadline: number,
    signal: AbortSignal,
    t0: number,
    first: CompiledTarget | undefined,
    firstOut: AttemptResult<T> | undefined,
  ): Promise<RunResult<T>> {
    let stepIndex = 0;
    let attempts = firstOut === undefined ? 0 : 1;
    let sameRetries = 0;
    let tried: Set<CompiledTarget> | undefined;
    let last: AttemptFailure | undefined;
    let lastTarget: CompiledTarget | undefined = firstOut === undefined ? undefined : first;
    /** Set when the last failure's class rules out the rest of the current step. */
    let leave: ErrorClass | undefined;
    /** Whether `last` happened in the current step. */
    let lastInStep = false;
    /** The outcome of the call of `lastTarget` not yet accounted for. */
    let out = firstOut;
    /** The weighted pick for the first iteration, made before (by `run`, or a handler through `pick`). */
    let drawn = firstOut === undefined ? first : undefined;
    let fresh = firstOut === undefined;
    const result = (value: T | undefined, failure: AttemptFailure | undefined): RunResult<T> => ({
      value,
      failure,
      target: lastTarget,
      attempts,
      fallbackDepth: stepIndex,
      aborted: false,
    });

    for (;;) {
      if (out !== undefined) {
        const called = lastTarget as CompiledTarget;
        if (out.ok) {
          health.success(called.credential, now);
          return result(out.value, undefined);
        }
        if ("aborted" in out) {
          health.release(called.credential);
          return { ...result(undefined, last), aborted: true };
        }
        const failure = out.failure;
        out = undefined;
        health.failure(called.credential, failure.errorClass, failure.retryAfterMs, now());
        o.observer.attemptFailed(called, failure, route);
        last = failure;
        lastInStep = true;
        tried ??= new Set();
        tried.add(called);
        const action = ACTIONS[failure.errorClass];
        if (!action.otherTargets && !action.fallback) return result(undefined, failure);
        if (!action.otherTargets) leave = failure.errorClass;
      }

      const t = fresh ? t0 : now();
      fresh = false;
      const step = route.steps[stepIndex] as CompiledStep;
      let target: CompiledTarget | undefined;
      if (leave === undefined) {
        // Fast path: the weighted pick is usually eligible.
        target = drawn ?? pickTarget(step, undefined, random);
        drawn = undefined;
        if (target && (tried?.has(target) || health.barredBy(target.credential, t) !== undefined)) {
          target = pickTarget(
            step,
            (c) => !tried?.has(c) && health.barredBy(c.credential, t) === undefined,
            random,
          );
        }
      }

      if (target === undefined) {
        const why = reasons(step, leave, lastInStep ? last : undefined, tried, t);
        const next = nextStep(route, stepIndex, why);
        if (next.step !== -1) {
          // Attributed to the target that failed, or that was barred, in the step left.
          o.observer.fallback(route, next.step, next.errorClass, lastInStep ? lastTarget : step.targets[0]);
          stepIndex = next.step;
          leave = undefined;
          lastInStep = false;
          continue;
        }
        // Last resort: the target that just failed, once its wait is over.
        if (last && lastTarget && ACTIONS[last.errorClass].sameTarget && sameRetries < o.sameTargetRetries) {
          const wait = Math.max(
            health.waitMs(lastTarget.credential, t),
            last.errorClass === ErrorClass.RATE_LIMITED ? (last.retryAfterMs ?? 0) : 0,
            backoffMs(sameRetries, o.backoffBaseMs, o.backoffMaxMs, random),
          );
          if (wait <= o.maxWaitMs && t + wait < deadline) {
            sameRetries++;
            await sleep(wait, signal);
            if (signal.aborted) return { ...result(undefined, last), aborted: true };
            if (health.barredBy(lastTarget.credential, now()) === undefined) {
              tried?.delete(lastTarget);
              continue;
            }
          }
        }
        if (last) return result(undefined, last);
        return result(
          undefined,
          noTargetFailure(why[0] ?? ErrorClass.DISABLED, route.model, waitOf(step, t)),
        );
      }

      if (t >= deadline) return result(undefined, last ?? deadlineFailure());
      if (attempts > 0) {
        if (attempts >= o.maxAttempts) return result(undefined, last);
        if (!o.budget.take(t)) {
          o.observer.budgetExhausted(route);
          return result(undefined, last);
        }
        o.observer.retry(target, last?.errorClass ?? ErrorClass.UNSPECIFIED);
      }
      attempts++;
      lastTarget = target;
      health.begin(target.credential);
      try {
        out = await attempt(target);
      } catch (err) {
        health.release(target.credential); // no verdict: never leave a half-open probe slot taken
        throw err;
      }
    }
  }

  function waitOf(step: CompiledStep, t: number): number {
    let min = Number.POSITIVE_INFINITY;
    for (const target of step.targets) min = Math.min(min, health.waitMs(target.credential, t));
    return Number.isFinite(min) ? min : 0;
  }

  return { run, pick, ready, after };
}
