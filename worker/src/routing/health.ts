import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { CredentialRecord } from "../table/routing-table.js";

/** Circuit-breaker state of a credential, as metrics and operational events report it. */
export type CircuitState = "closed" | "half_open" | "open";

export interface HealthOptions {
  /** Open after this many failures in a row. */
  consecutiveFailures: number;
  /** Or when at least `minRequests` calls in the window failed at this rate (0..1). */
  failureRate: number;
  minRequests: number;
  /** Sliding window for the failure rate, in whole seconds' buckets. */
  windowMs: number;
  /** First open period; doubles on each re-open without a success, up to maxOpenMs. */
  openMs: number;
  maxOpenMs: number;
  /** Open period after the provider rejected the credential (401/403). */
  authOpenMs: number;
  /** Cooldown after quota exhaustion (402 / insufficient_quota). */
  quotaCooldownMs: number;
  /** Cooldown after a 429 without Retry-After. */
  rateLimitCooldownMs: number;
  /** Longest cooldown a provider's Retry-After can impose. */
  maxCooldownMs: number;
}

export interface CircuitTransition {
  credential: CredentialRecord;
  from: CircuitState;
  to: CircuitState;
  /** The error class that opened the circuit (or last kept it open). */
  errorClass: ErrorClass;
}

interface Entry {
  record: CredentialRecord;
  state: CircuitState;
  consecutive: number;
  /** Per-second buckets of the window: calls and failures, indexed by second modulo the length. */
  calls: Uint32Array;
  failures: Uint32Array;
  /** The second (epoch) each bucket currently holds. */
  stamps: Float64Array;
  openUntil: number;
  /** Re-opens without a success in between, for the doubling open period. */
  reopens: number;
  probing: boolean;
  /** A rate-limit or quota cooldown, independent of the circuit. */
  coolUntil: number;
  coolClass: ErrorClass;
  reason: ErrorClass;
}

/**
 * Health of each credential on this worker: a circuit breaker (consecutive
 * failures or failure rate over a sliding window, an open period that doubles
 * while failures continue, one half-open probe at a time) plus cooldowns for
 * rate limits and exhausted quotas. Entries are keyed by credential id and
 * tied to the record they were made for: a credential changed through the
 * management API (new secret, re-enabled) starts healthy again.
 */
export interface CredentialHealth {
  /** Undefined when the credential may be called now, else the class that bars it. */
  barredBy(credential: CredentialRecord, now: number): ErrorClass | undefined;
  /** Marks the start of a call: takes the half-open probe slot when the circuit is half open. */
  begin(credential: CredentialRecord): void;
  /**
   * Whether the credential may be called now with no probe slot to take: never failed, or its
   * circuit closed and no cooldown running. (A half-open circuit's probe goes through `barredBy`
   * and `begin`.) No side effect: an open circuit due to half-open stays as it is.
   */
  healthy(credential: CredentialRecord, now: number): boolean;
  /**
   * A call of the credential succeeded at `now`; a clock instead of a time is read only when the
   * credential's health is tracked (it has failed before), sparing the common case a clock read.
   */
  success(credential: CredentialRecord, now: number | (() => number)): void;
  failure(
    credential: CredentialRecord,
    errorClass: ErrorClass,
    retryAfterMs: number | undefined,
    now: number,
  ): void;
  /** A call ended without a verdict (the client went away): frees the probe slot. */
  release(credential: CredentialRecord): void;
  /** Milliseconds until the credential may be called again (0 when it may now). */
  waitMs(credential: CredentialRecord, now: number): number;
  /** Every credential with a health entry, for metrics. */
  states(): Iterable<{ credential: CredentialRecord; state: CircuitState }>;
  /** Drops entries of credentials that changed or no longer exist. */
  prune(keep: (credential: CredentialRecord) => boolean): void;
}

/** Classes that count as the provider failing; the others mean it answered. */
const FAILURES = new Set([ErrorClass.UNAVAILABLE, ErrorClass.TIMEOUT, ErrorClass.MALFORMED_RESPONSE]);

export function createCredentialHealth(
  options: HealthOptions,
  onTransition: (t: CircuitTransition) => void = () => {},
): CredentialHealth {
  /** The entry of each credential id: the one tied to the record it was made for. */
  const entries = new Map<string, Entry>();
  /**
   * The same entries by their record, for the hot path: a lookup by object identity reads the
   * record's header, not its id string (one cache miss fewer per lookup at 10k credentials), and
   * finds nothing for a record that is not the current one of its id.
   */
  const byRecord = new Map<CredentialRecord, Entry>();
  const buckets = Math.max(1, Math.ceil(options.windowMs / 1000));

  function entryOf(record: CredentialRecord): Entry {
    let e = byRecord.get(record);
    if (e === undefined) {
      const replaced = entries.get(record.id);
      if (replaced !== undefined) byRecord.delete(replaced.record);
      e = {
        record,
        state: "closed",
        consecutive: 0,
        calls: new Uint32Array(buckets),
        failures: new Uint32Array(buckets),
        stamps: new Float64Array(buckets),
        openUntil: 0,
        reopens: 0,
        probing: false,
        coolUntil: 0,
        coolClass: ErrorClass.UNSPECIFIED,
        reason: ErrorClass.UNSPECIFIED,
      };
      entries.set(record.id, e);
      byRecord.set(record, e);
    }
    return e;
  }

  function move(e: Entry, to: CircuitState): void {
    const from = e.state;
    if (from === to) return;
    e.state = to;
    onTransition({ credential: e.record, from, to, errorClass: e.reason });
  }

  function count(e: Entry, failed: boolean, now: number): { calls: number; failures: number } {
    const second = Math.floor(now / 1000);
    const i = second % buckets;
    if (e.stamps[i] !== second) {
      e.stamps[i] = second;
      e.calls[i] = 0;
      e.failures[i] = 0;
    }
    (e.calls[i] as number)++;
    if (failed) (e.failures[i] as number)++;
    let calls = 0;
    let failures = 0;
    for (let b = 0; b < buckets; b++) {
      if (second - (e.stamps[b] as number) < buckets) {
        calls += e.calls[b] as number;
        failures += e.failures[b] as number;
      }
    }
    return { calls, failures };
  }

  function open(e: Entry, reason: ErrorClass, periodMs: number, now: number): void {
    e.reason = reason;
    e.openUntil = now + periodMs;
    e.probing = false;
    move(e, "open");
  }

  function success(record: CredentialRecord, now: number | (() => number)): void {
    const e = byRecord.get(record);
    if (e === undefined) return; // never failed: nothing to track
    e.consecutive = 0;
    e.probing = false;
    count(e, false, typeof now === "number" ? now : now());
    // Only a probe closes the circuit: a request that started before it opened proves little.
    if (e.state === "half_open") {
      e.reopens = 0;
      move(e, "closed");
    }
  }

  return {
    barredBy(record, now) {
      const e = byRecord.get(record);
      if (e === undefined) return undefined;
      if (e.coolUntil > now) return e.coolClass;
      if (e.state === "closed") return undefined;
      if (e.state === "open") {
        if (now < e.openUntil) return e.reason;
        move(e, "half_open");
      }
      return e.probing ? e.reason : undefined;
    },
    begin(record) {
      const e = byRecord.get(record);
      if (e !== undefined && e.state === "half_open") e.probing = true;
    },
    healthy(record, now) {
      const e = byRecord.get(record);
      return e === undefined || (e.state === "closed" && e.coolUntil <= now);
    },
    success,
    failure(record, errorClass, retryAfterMs, now) {
      const e = entryOf(record);
      if (errorClass === ErrorClass.RATE_LIMITED || errorClass === ErrorClass.QUOTA_EXHAUSTED) {
        const ms =
          errorClass === ErrorClass.QUOTA_EXHAUSTED
            ? Math.max(options.quotaCooldownMs, retryAfterMs ?? 0)
            : (retryAfterMs ?? options.rateLimitCooldownMs);
        e.coolUntil = now + Math.min(ms, options.maxCooldownMs);
        e.coolClass = errorClass;
        // The provider answered: a half-open probe that hit a limit proves it is up.
        e.probing = false;
        if (e.state === "half_open") move(e, "closed");
        return;
      }
      if (errorClass === ErrorClass.AUTH) {
        open(e, ErrorClass.AUTH, options.authOpenMs, now);
        return;
      }
      if (!FAILURES.has(errorClass)) {
        // Bad request, context length, content filter: the provider works.
        success(record, now);
        return;
      }
      e.consecutive++;
      const window = count(e, true, now);
      if (e.state === "half_open") {
        e.reopens++;
        open(e, errorClass, Math.min(options.openMs * 2 ** e.reopens, options.maxOpenMs), now);
        return;
      }
      if (e.state === "open") return;
      const rateTripped =
        window.calls >= options.minRequests && window.failures / window.calls >= options.failureRate;
      if (e.consecutive >= options.consecutiveFailures || rateTripped) {
        open(e, errorClass, options.openMs, now);
      }
    },
    release(record) {
      const e = byRecord.get(record);
      if (e !== undefined) e.probing = false;
    },
    waitMs(record, now) {
      const e = byRecord.get(record);
      if (e === undefined) return 0;
      return Math.max(0, e.coolUntil - now, e.state === "open" ? e.openUntil - now : 0);
    },
    *states() {
      for (const e of entries.values()) yield { credential: e.record, state: e.state };
    },
    prune(keep) {
      for (const [id, e] of entries) {
        if (keep(e.record)) continue;
        entries.delete(id);
        byRecord.delete(e.record);
      }
    },
  };
}
