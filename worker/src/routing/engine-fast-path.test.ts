import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { RouteEntrySchema } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { credential, engineHealth } from "../../../test/helpers/worker-fixtures.js";
import { type CompiledTarget, compileRoute } from "../table/compile.js";
import type { CredentialRecord } from "../table/routing-table.js";
import { type AttemptResult, createRoutingEngine, type EngineOptions } from "./engine.js";
import { gatewayFailure } from "./failures.js";
import type { RetryBudget } from "./retry-budget.js";

const { UNAVAILABLE, AUTH, RATE_LIMITED, DISABLED } = ErrorClass;

/**
 * The engine's fast path: `run` for a healthy weighted pick, and `pick` / `ready` / `after` as
 * the handlers use them. Credentials a, b, c of one organization; a clock `t` the test moves;
 * attempts that serve unless `fail` names the credential.
 */
function setup(options: Partial<EngineOptions> = {}) {
  const creds = new Map(["a", "b", "c"].map((id) => [id, credential(id)]));
  const health = engineHealth(2);
  const clock = { t: 1_000_000 };
  const budget = { deposits: 0, deposit: () => void budget.deposits++, take: () => true };
  const engine = createRoutingEngine({
    health,
    budget: budget satisfies RetryBudget,
    observer: { attemptFailed: () => {}, fallback: () => {}, retry: () => {}, budgetExhausted: () => {} },
    maxAttempts: 5,
    sameTargetRetries: 0,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    maxWaitMs: 200,
    now: () => clock.t,
    // The weighted pick takes the first target.
    random: () => 0,
    ...options,
  });
  const calls: string[] = [];
  const fail = new Set<string>();
  const attempt = async (target: CompiledTarget): Promise<AttemptResult<string>> => {
    calls.push(target.credential.id);
    if (!fail.has(target.credential.id)) return { ok: true, value: `served by ${target.credential.id}` };
    return {
      ok: false,
      failure: { ...gatewayFailure(UNAVAILABLE, "upstream_error", "mock"), upstreamStatus: 500 },
    };
  };
  const route = (primary: string[], fallback: string[] = []) =>
    compileRoute(
      create(RouteEntrySchema, {
        id: "r",
        orgId: "org",
        model: "m",
        targets: primary.map((credentialId) => ({ credentialId, weight: 1 })),
        fallbacks: fallback.length
          ? [
              {
                targets: fallback.map((credentialId) => ({ credentialId, weight: 1 })),
                triggers: [AUTH, DISABLED],
              },
            ]
          : [],
      }),
      creds,
    );
  const signal = new AbortController().signal;
  const deadline = () => clock.t + 10_000;
  /** What a handler runs: the fast path when `ready`, else `run` with the pick. */
  async function handle(r: ReturnType<typeof route>) {
    const drawn = engine.pick(r);
    const result = engine.ready(drawn, deadline())
      ? engine.after(r, drawn, await attempt(drawn), attempt, deadline(), signal)
      : engine.run(r, attempt, deadline(), signal, drawn);
    return result instanceof Promise ? await result : result;
  }
  const cred = (id: string) => creds.get(id) as CredentialRecord;
  return { engine, health, clock, budget, calls, fail, attempt, route, signal, deadline, handle, cred };
}

describe("routing engine, fast path", () => {
  it("pick draws by weight and changes nothing", () => {
    const { engine, route, budget, calls } = setup({ random: () => 0.9 });
    expect(engine.pick(route(["a", "b"]))?.credential.id).toBe("b");
    expect(engine.pick(route([]))).toBeUndefined();
    expect(budget.deposits).toBe(0);
    expect(calls).toEqual([]);
  });

  it("serves through pick, ready and after in one attempt, without a promise for the result", async () => {
    const { engine, route, budget, calls, attempt, deadline, signal } = setup();
    const r = route(["a", "b"]);
    const drawn = engine.pick(r);
    expect(engine.ready(drawn, deadline())).toBe(true);
    expect(budget.deposits).toBe(1);
    const result = engine.after(
      r,
      drawn as CompiledTarget,
      await attempt(drawn as CompiledTarget),
      attempt,
      deadline(),
      signal,
    );
    expect(result).not.toBeInstanceOf(Promise);
    expect(result).toMatchObject({ value: "served by a", attempts: 1, fallbackDepth: 0, aborted: false });
    expect(calls).toEqual(["a"]);
  });

  it("records the success of a fast call: it resets the consecutive failures", async () => {
    const { health, handle, route, cred, clock } = setup();
    health.failure(cred("a"), UNAVAILABLE, undefined, clock.t);
    await handle(route(["a"]));
    health.failure(cred("a"), UNAVAILABLE, undefined, clock.t);
    expect(health.barredBy(cred("a"), clock.t)).toBeUndefined(); // one in a row, not two
  });

  it("continues a failed fast call as run would: another target of the step", async () => {
    const { handle, route, fail, calls } = setup();
    fail.add("a");
    const result = await handle(route(["a", "b"]));
    expect(result).toMatchObject({ value: "served by b", attempts: 2, fallbackDepth: 0 });
    expect(calls).toEqual(["a", "b"]);
  });

  it.each([
    [
      "an open circuit",
      (h: ReturnType<typeof setup>) => h.health.failure(h.cred("a"), AUTH, undefined, h.clock.t),
    ],
    [
      "a cooldown",
      (h: ReturnType<typeof setup>) => h.health.failure(h.cred("a"), RATE_LIMITED, 5000, h.clock.t),
    ],
  ])(
    "is not ready for a pick behind %s: run, given the pick, takes the next eligible",
    async (_name, bar) => {
      const h = setup();
      bar(h);
      const r = h.route(["a", "b"]);
      const drawn = h.engine.pick(r);
      expect(h.engine.ready(drawn, h.deadline())).toBe(false);
      expect(h.budget.deposits).toBe(0);
      const result = await h.engine.run(r, h.attempt, h.deadline(), h.signal, drawn);
      expect(result).toMatchObject({ value: "served by b", attempts: 1 });
      expect(h.calls).toEqual(["b"]);
      expect(h.budget.deposits).toBe(1);
    },
  );

  it("leaves a half-open probe to run, which takes the slot and closes the circuit on success", async () => {
    const { engine, health, handle, route, cred, clock, deadline } = setup();
    health.failure(cred("a"), AUTH, undefined, clock.t);
    clock.t += 60_000; // due to half-open
    expect(engine.ready(engine.pick(route(["a"])), deadline())).toBe(false);
    expect([...health.states()]).toEqual([{ credential: cred("a"), state: "open" }]);
    const result = await handle(route(["a"]));
    expect(result).toMatchObject({ value: "served by a", attempts: 1 });
    expect([...health.states()]).toEqual([{ credential: cred("a"), state: "closed" }]);
  });

  it("is not ready past the deadline: run answers upstream_timeout without a call", async () => {
    const { engine, route, calls, attempt, signal, clock } = setup();
    const r = route(["a"]);
    const drawn = engine.pick(r);
    expect(engine.ready(drawn, clock.t)).toBe(false);
    const result = await engine.run(r, attempt, clock.t, signal, drawn);
    expect(result.failure).toMatchObject({ code: "upstream_timeout" });
    expect(calls).toEqual([]);
  });

  it("falls back from an empty primary step through run", async () => {
    const { handle, route, calls } = setup();
    const result = await handle(route([], ["c"]));
    expect(result).toMatchObject({ value: "served by c", fallbackDepth: 1 });
    expect(calls).toEqual(["c"]);
  });

  it("deposits in the retry budget once per request, fast or not", async () => {
    const { handle, route, budget, fail, health, cred, clock } = setup();
    await handle(route(["a"]));
    expect(budget.deposits).toBe(1);
    fail.add("a");
    await handle(route(["a", "b"])); // a fails, b serves
    expect(budget.deposits).toBe(2);
    health.failure(cred("c"), AUTH, undefined, clock.t);
    await handle(route(["c"], ["b"])); // c barred: run falls back to b
    expect(budget.deposits).toBe(3);
  });

  it("run rejects (does not throw) when a healthy pick's attempt throws", async () => {
    const { engine, route, deadline, signal } = setup();
    const throwing = (): Promise<AttemptResult<string>> => {
      throw new Error("bug");
    };
    const pending = engine.run(route(["a"]), throwing, deadline(), signal);
    await expect(pending).rejects.toThrow("bug");
  });

  it.each([
    [
      "throws",
      (): Promise<AttemptResult<string>> => {
        throw new Error("bug");
      },
    ],
    ["rejects", (): Promise<AttemptResult<string>> => Promise.reject(new Error("bug"))],
  ])("frees a half-open probe slot when the attempt %s, and rethrows", async (_name, attempt) => {
    const { engine, health, route, cred, clock, deadline, signal } = setup();
    health.failure(cred("a"), AUTH, undefined, clock.t);
    clock.t += 60_000;
    await expect(engine.run(route(["a"]), attempt, deadline(), signal)).rejects.toThrow("bug");
    expect(health.barredBy(cred("a"), clock.t)).toBeUndefined(); // no probe left in flight
  });

  it("frees a half-open probe slot when the client goes away during the probe", async () => {
    const { engine, health, route, cred, clock, deadline, signal } = setup();
    health.failure(cred("a"), AUTH, undefined, clock.t);
    clock.t += 60_000;
    const aborted = async (): Promise<AttemptResult<string>> => ({ ok: false, aborted: true });
    const result = await engine.run(route(["a"]), aborted, deadline(), signal);
    expect(result).toMatchObject({ aborted: true, attempts: 1, value: undefined });
    expect(result.target?.credential).toBe(cred("a"));
    expect(health.barredBy(cred("a"), clock.t)).toBeUndefined();
  });
});
