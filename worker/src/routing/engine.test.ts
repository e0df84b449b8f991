import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { RouteEntrySchema } from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { credential, engineHealth } from "../../../test/helpers/worker-fixtures.js";
import { type CompiledTarget, compileRoute } from "../table/compile.js";
import type { CredentialRecord } from "../table/routing-table.js";
import { type AttemptResult, createRoutingEngine, type EngineOptions } from "./engine.js";
import { gatewayFailure } from "./failures.js";
import { createRetryBudget } from "./retry-budget.js";

type Step = { targets: string[]; triggers?: ErrorClass[] };

/** A route over credentials named by id; step 0 is the primary. */
function route(steps: Step[], creds: Map<string, CredentialRecord>) {
  const [primary, ...fallbacks] = steps;
  const targets = (ids: string[]) => ids.map((credentialId) => ({ credentialId, weight: 1 }));
  const entry = create(RouteEntrySchema, {
    id: "r",
    orgId: "org",
    model: "m",
    targets: targets(primary?.targets ?? []),
    fallbacks: fallbacks.map((f) => ({ targets: targets(f.targets), triggers: f.triggers ?? [] })),
  });
  return compileRoute(entry, creds);
}

const failWith = (errorClass: ErrorClass, retryAfterMs?: number) => ({
  ok: false as const,
  failure: { ...gatewayFailure(errorClass, "upstream_error", "mock"), retryAfterMs, upstreamStatus: 500 },
});

/**
 * An engine over credentials a, b, c, d whose attempts answer from `script`:
 * per credential id, the outcomes of its successive calls ("ok" or a class);
 * calls past the end repeat the last entry.
 */
function setup(script: Record<string, Array<"ok" | ErrorClass>>, options: Partial<EngineOptions> = {}) {
  const creds = new Map(["a", "b", "c", "d"].map((id) => [id, credential(id)]));
  const health = engineHealth(3);
  const seen = { calls: [] as string[], fallbacks: [] as string[], retries: 0, budgetExhausted: 0 };
  const engine = createRoutingEngine({
    health,
    budget: createRetryBudget({ ratio: 0, minPerSecond: 0, max: 100 }),
    observer: {
      attemptFailed: () => {},
      fallback: (_r, to, c) => seen.fallbacks.push(`${to}:${ErrorClass[c]}`),
      retry: () => seen.retries++,
      budgetExhausted: () => seen.budgetExhausted++,
    },
    maxAttempts: 5,
    sameTargetRetries: 2,
    backoffBaseMs: 1,
    backoffMaxMs: 5,
    maxWaitMs: 200,
    // The weighted pick takes the first eligible target; backoff waits nothing.
    random: () => 0,
    ...options,
  });
  const count = new Map<string, number>();
  const attempt = async (t: CompiledTarget): Promise<AttemptResult<string>> => {
    const id = t.credential.id;
    seen.calls.push(id);
    const n = count.get(id) ?? 0;
    count.set(id, n + 1);
    const outcomes = script[id] ?? ["ok"];
    const outcome = outcomes[Math.min(n, outcomes.length - 1)] ?? "ok";
    if (outcome === "ok") return { ok: true, value: `served by ${id}` };
    return failWith(outcome, outcome === ErrorClass.RATE_LIMITED ? 50 : undefined);
  };
  const run = (steps: Step[], deadline = Date.now() + 10_000, signal = new AbortController().signal) =>
    engine.run(route(steps, creds), attempt, deadline, signal);
  return { run, seen, health, creds };
}

const { UNAVAILABLE, RATE_LIMITED, TIMEOUT, QUOTA_EXHAUSTED, AUTH, BAD_REQUEST } = ErrorClass;
const { CONTEXT_LENGTH_EXCEEDED, CONTENT_FILTER, MALFORMED_RESPONSE, DISABLED } = ErrorClass;

describe("routing engine", () => {
  it("serves from the primary step in one attempt", async () => {
    const { run } = setup({});
    const r = await run([{ targets: ["a"] }]);
    expect(r).toMatchObject({ value: "served by a", attempts: 1, fallbackDepth: 0, aborted: false });
  });

  it.each([UNAVAILABLE, TIMEOUT, RATE_LIMITED, QUOTA_EXHAUSTED, AUTH, MALFORMED_RESPONSE])(
    "after %s tries the other target of the step",
    async (c) => {
      const { run, seen } = setup({ a: [c], b: ["ok"] });
      const r = await run([{ targets: ["a", "b"] }]);
      expect(r.value).toBe("served by b");
      expect(seen.calls).toEqual(["a", "b"]);
      expect(r.fallbackDepth).toBe(0);
    },
  );

  it.each([BAD_REQUEST])("returns %s at once: no other target, no fallback, no retry", async (c) => {
    const { run, seen } = setup({ a: [c], b: [c] });
    const r = await run([{ targets: ["a", "b"] }, { targets: ["c"], triggers: [UNAVAILABLE, RATE_LIMITED] }]);
    expect(r.failure?.errorClass).toBe(c);
    expect(r.attempts).toBe(1);
    expect(seen.calls).toHaveLength(1);
  });

  it.each([CONTEXT_LENGTH_EXCEEDED, CONTENT_FILTER])(
    "on %s skips the rest of the step and falls back to a step listing it",
    async (c) => {
      const { run, seen } = setup({ a: [c], b: [c] });
      const r = await run([{ targets: ["a", "b"] }, { targets: ["c"], triggers: [c] }]);
      expect(r).toMatchObject({ value: "served by c", attempts: 2, fallbackDepth: 1 });
      expect(seen.calls).toEqual([seen.calls[0], "c"]);
      expect(seen.fallbacks).toEqual([`1:${ErrorClass[c]}`]);
    },
  );

  it.each([CONTEXT_LENGTH_EXCEEDED, CONTENT_FILTER])("returns %s when no step lists it", async (c) => {
    const { run } = setup({ a: [c] });
    const r = await run([{ targets: ["a"] }, { targets: ["c"], triggers: [UNAVAILABLE] }]);
    expect(r.failure?.errorClass).toBe(c);
    expect(r.attempts).toBe(1);
  });

  it("passes over fallback steps whose triggers do not match", async () => {
    const { run, seen } = setup({ a: [UNAVAILABLE] }, { sameTargetRetries: 0 });
    const r = await run([
      { targets: ["a"] },
      { targets: ["b"], triggers: [RATE_LIMITED] },
      { targets: ["c"], triggers: [UNAVAILABLE] },
    ]);
    expect(r).toMatchObject({ value: "served by c", fallbackDepth: 2 });
    expect(seen.calls).toEqual(["a", "c"]);
  });

  it("lets a malformed reply trigger a step listing UNAVAILABLE", async () => {
    const { run } = setup({ a: [MALFORMED_RESPONSE] }, { sameTargetRetries: 0 });
    const r = await run([{ targets: ["a"] }, { targets: ["b"], triggers: [UNAVAILABLE] }]);
    expect(r).toMatchObject({ value: "served by b", fallbackDepth: 1 });
  });

  it("retries the same target after backoff when nothing else is left", async () => {
    const { run, seen } = setup({ a: [UNAVAILABLE, UNAVAILABLE, "ok"] });
    const r = await run([{ targets: ["a"] }]);
    expect(r).toMatchObject({ value: "served by a", attempts: 3 });
    expect(seen.calls).toEqual(["a", "a", "a"]);
  });

  it("gives up on the same target after sameTargetRetries", async () => {
    const { run, seen } = setup({ a: [UNAVAILABLE] }, { sameTargetRetries: 1 });
    const r = await run([{ targets: ["a"] }]);
    expect(r.failure?.errorClass).toBe(UNAVAILABLE);
    expect(seen.calls).toEqual(["a", "a"]);
  });

  it("waits out a short Retry-After before calling a rate-limited target again", async () => {
    const { run, seen } = setup({ a: [RATE_LIMITED, "ok"] });
    const started = Date.now();
    const r = await run([{ targets: ["a"] }]);
    expect(r.value).toBe("served by a");
    expect(Date.now() - started).toBeGreaterThanOrEqual(45);
    expect(seen.calls).toEqual(["a", "a"]);
  });

  it("does not wait out a Retry-After longer than maxWaitMs", async () => {
    const { run, seen } = setup({ a: [RATE_LIMITED, "ok"] }, { maxWaitMs: 10 });
    const r = await run([{ targets: ["a"] }]);
    expect(r.failure?.errorClass).toBe(RATE_LIMITED);
    expect(seen.calls).toEqual(["a"]);
  });

  it.each([TIMEOUT, QUOTA_EXHAUSTED, AUTH])("does not call a target again after %s", async (c) => {
    const { run, seen } = setup({ a: [c, "ok"] });
    const r = await run([{ targets: ["a"] }]);
    expect(r.failure?.errorClass).toBe(c);
    expect(seen.calls).toEqual(["a"]);
  });

  it("falls back when the primary step has no eligible target (DISABLED)", async () => {
    const { run, seen } = setup({});
    const r = await run([{ targets: [] }, { targets: ["b"], triggers: [DISABLED] }]);
    expect(r).toMatchObject({ value: "served by b", attempts: 1, fallbackDepth: 1 });
    expect(seen.fallbacks).toEqual(["1:DISABLED"]);
  });

  it("answers model_unavailable when nothing is eligible and no step takes DISABLED", async () => {
    const { run } = setup({});
    const r = await run([{ targets: [] }, { targets: ["b"], triggers: [UNAVAILABLE] }]);
    expect(r.failure).toMatchObject({ errorClass: DISABLED, status: 503, code: "model_unavailable" });
    expect(r.attempts).toBe(0);
  });

  it("skips a credential behind an open circuit without calling it", async () => {
    const { run, seen, health, creds } = setup({});
    health.failure(creds.get("a") as CredentialRecord, AUTH, undefined, Date.now());
    const r = await run([{ targets: ["a"] }, { targets: ["b"], triggers: [AUTH] }]);
    expect(r).toMatchObject({ value: "served by b", attempts: 1, fallbackDepth: 1 });
    expect(seen.calls).toEqual(["b"]);
  });

  it("answers upstream_unavailable with Retry-After when every circuit is open", async () => {
    const { run, health, creds } = setup({});
    health.failure(creds.get("a") as CredentialRecord, AUTH, undefined, Date.now());
    const r = await run([{ targets: ["a"] }]);
    expect(r.failure).toMatchObject({ status: 503, code: "upstream_unavailable" });
    expect(r.failure?.retryAfterMs).toBeGreaterThan(59_000);
  });

  it("answers upstream_rate_limited when every credential is cooling down", async () => {
    const { run, health, creds } = setup({});
    health.failure(creds.get("a") as CredentialRecord, RATE_LIMITED, 30_000, Date.now());
    const r = await run([{ targets: ["a"] }]);
    expect(r.failure).toMatchObject({ status: 429, code: "upstream_rate_limited" });
  });

  it("stops retrying when the retry budget is spent", async () => {
    const { run, seen } = setup(
      { a: [UNAVAILABLE], b: ["ok"] },
      { budget: createRetryBudget({ ratio: 0, minPerSecond: 0, max: 1 }, Date.now()) },
    );
    const first = await run([{ targets: ["a", "b"] }]);
    expect(first.value).toBeDefined(); // one token: the retry went through
    const calls = seen.calls.length;
    const second = await run([{ targets: ["a"] }, { targets: ["b"], triggers: [UNAVAILABLE] }]);
    expect(second.failure?.errorClass).toBe(UNAVAILABLE);
    expect(seen.calls.length - calls).toBe(1);
    expect(seen.budgetExhausted).toBe(1);
  });

  it("never makes more than maxAttempts calls", async () => {
    const { run, seen } = setup({ a: [UNAVAILABLE], b: [UNAVAILABLE], c: [UNAVAILABLE] }, { maxAttempts: 2 });
    await run([{ targets: ["a", "b", "c"] }]);
    expect(seen.calls).toHaveLength(2);
  });

  it("starts no attempt after the deadline", async () => {
    const { run, seen } = setup({});
    const r = await run([{ targets: ["a"] }], Date.now() - 1);
    expect(r.failure).toMatchObject({ errorClass: TIMEOUT, code: "upstream_timeout" });
    expect(seen.calls).toEqual([]);
  });

  it("calls the first eligible target by weight when the weighted pick is barred", async () => {
    const { run, seen, health, creds } = setup({});
    health.failure(creds.get("a") as CredentialRecord, AUTH, undefined, Date.now());
    const r = await run([{ targets: ["a", "b", "c"] }]);
    expect(r).toMatchObject({ value: "served by b", attempts: 1, fallbackDepth: 0 });
    expect(seen.calls).toEqual(["b"]);
  });

  it("stops when the client went away", async () => {
    const { run, seen } = setup({ a: [UNAVAILABLE] });
    const abort = new AbortController();
    abort.abort();
    const r = await run([{ targets: ["a"] }], Date.now() + 10_000, abort.signal);
    expect(r.aborted).toBe(true);
    expect(seen.calls).toEqual(["a"]);
  });
});
