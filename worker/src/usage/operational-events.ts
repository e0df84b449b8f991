import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type OperationalEvent,
  type OperationalEventKind,
  OperationalEventSchema,
} from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import type { CredentialRecord } from "../table/routing-table.js";

export interface OperationalEventsOptions {
  workerId: string;
  /** Occurrences of the same event within this window become one audit row. */
  windowMs: number;
  /** Distinct events held at once; beyond it new ones are dropped and counted. */
  maxKeys?: number;
  now?: () => number;
}

/**
 * Aggregates operational events (fallbacks, provider errors, circuit changes)
 * per (kind, organization, credential, model, error class) over a window, so
 * an outage that fails thousands of requests writes a handful of audit rows.
 */
export interface OperationalEvents {
  add(
    kind: OperationalEventKind,
    credential: CredentialRecord,
    model: string,
    errorClass: ErrorClass,
    detail: string,
  ): void;
  /** Removes and returns the events whose window has closed (every event when `all`). */
  drain(all?: boolean): OperationalEvent[];
  readonly dropped: number;
}

interface Aggregate {
  kind: OperationalEventKind;
  credential: CredentialRecord;
  model: string;
  errorClass: ErrorClass;
  detail: string;
  count: number;
  first: number;
  last: number;
}

const MAX_DETAIL = 500;

export function createOperationalEvents(o: OperationalEventsOptions): OperationalEvents {
  const now = o.now ?? Date.now;
  const maxKeys = o.maxKeys ?? 10_000;
  const open = new Map<string, Aggregate>();
  let seq = 0;
  let dropped = 0;
  // Event ids must never repeat across restarts of a worker id: start from the clock.
  const epoch = now().toString(36);

  return {
    add(kind, credential, model, errorClass, detail) {
      const key = `${kind}\u0000${credential.id}\u0000${model}\u0000${errorClass}`;
      const t = now();
      const agg = open.get(key);
      if (agg) {
        agg.count++;
        agg.last = t;
        return;
      }
      if (open.size >= maxKeys) {
        dropped++;
        return;
      }
      open.set(key, {
        kind,
        credential,
        model,
        errorClass,
        detail: detail.slice(0, MAX_DETAIL),
        count: 1,
        first: t,
        last: t,
      });
    },
    drain(all = false) {
      const t = now();
      const out: OperationalEvent[] = [];
      for (const [key, agg] of open) {
        if (!all && t - agg.first < o.windowMs) continue;
        open.delete(key);
        out.push(
          create(OperationalEventSchema, {
            eventId: `${o.workerId}:${epoch}:${++seq}`,
            orgId: agg.credential.orgId,
            kind: agg.kind,
            provider: agg.credential.provider.id,
            credentialId: agg.credential.id,
            model: agg.model,
            errorClass: agg.errorClass,
            count: agg.count,
            firstAt: timestampFromMs(agg.first),
            lastAt: timestampFromMs(agg.last),
            detail: agg.detail,
          }),
        );
      }
      return out;
    },
    get dropped() {
      return dropped;
    },
  };
}
