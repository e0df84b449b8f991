import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import type { Tx } from "../db/pool.js";

export interface AuditEntry {
  orgId: string | null;
  actor: string;
  action: string;
  resourceType: string;
  resourceId: string;
  /** State before the change, secrets already masked. */
  before?: unknown;
  /** State after the change, secrets already masked. */
  after?: unknown;
  reason: string;
}

const NIL_ORG = "00000000-0000-0000-0000-000000000000";
const MAX_REASON = 1000;

/** Every mutating RPC states why; the reason is stored with the audit row. */
export function requireReason(reason: string): string {
  const trimmed = reason.trim();
  if (!trimmed) throw new ConnectError("reason is required for every change", Code.InvalidArgument);
  if (trimmed.length > MAX_REASON) {
    throw new ConnectError(`reason is longer than ${MAX_REASON} characters`, Code.InvalidArgument);
  }
  return trimmed;
}

/**
 * JSON with object keys sorted at every level. PostgreSQL's jsonb reorders
 * keys, so hashing canonical JSON lets a verifier recompute the hash from the
 * stored row.
 */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map((v) => canonicalJson(v ?? null)).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value ?? null);
}

/**
 * The canonical bytes hashed for a row: the previous hash plus the row's
 * fields in a fixed order, so a verifier can recompute the chain.
 */
export function auditRowHash(prev: Buffer | null, seq: number, occurredAt: string, e: AuditEntry): Buffer {
  const body = canonicalJson([
    e.orgId,
    seq,
    occurredAt,
    e.actor,
    e.action,
    e.resourceType,
    e.resourceId,
    e.before ?? null,
    e.after ?? null,
    e.reason,
  ]);
  return createHash("sha256")
    .update(prev ?? Buffer.alloc(0))
    .update(body)
    .digest();
}

/** A chain's position: the last row's seq and hash. */
interface ChainHead {
  seq: number;
  hash: Buffer | null;
}

/** Takes the chain's advisory lock (until the transaction ends) and reads its last row. */
async function lockChain(tx: Tx, orgId: string | null): Promise<ChainHead> {
  const chain = orgId ?? NIL_ORG;
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('audit:' || $1))", [chain]);
  const last = await tx.query<{ seq: number; hash: Buffer }>(
    `SELECT seq, hash FROM audit_log WHERE coalesce(org_id, '${NIL_ORG}'::uuid) = $1::uuid ORDER BY seq DESC LIMIT 1`,
    [chain],
  );
  const row = last.rows[0];
  return { seq: row?.seq ?? 0, hash: row?.hash ?? null };
}

/**
 * Inserts the row after `head`; with an eventId, nothing happens when a row
 * with that event id exists. Returns the new head, or undefined when skipped.
 */
async function insertRow(
  tx: Tx,
  head: ChainHead,
  entry: AuditEntry,
  eventId: string | null,
): Promise<ChainHead | undefined> {
  const seq = head.seq + 1;
  const occurredAt = new Date().toISOString();
  const hash = auditRowHash(head.hash, seq, occurredAt, entry);
  const { rowCount } = await tx.query(
    `INSERT INTO audit_log (org_id, seq, occurred_at, actor, action, resource_type, resource_id, before, after, reason, prev_hash, hash, event_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
     ${eventId === null ? "" : "ON CONFLICT (event_id) DO NOTHING"}`,
    [
      entry.orgId,
      seq,
      occurredAt,
      entry.actor,
      entry.action,
      entry.resourceType,
      entry.resourceId,
      entry.before === undefined ? null : JSON.stringify(entry.before),
      entry.after === undefined ? null : JSON.stringify(entry.after),
      entry.reason,
      head.hash,
      hash,
      eventId,
    ],
  );
  return rowCount === 1 ? { seq, hash } : undefined;
}

/**
 * Appends one audit row inside the caller's transaction (so the row exists
 * exactly when the change does), chained to the organization's previous row.
 * A per-organization advisory lock orders concurrent writers.
 */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  await insertRow(tx, await lockChain(tx, entry.orgId), entry, null);
}

/** An audit entry with an idempotency key: stored at most once, however often it is appended. */
export interface IdentifiedAuditEntry extends AuditEntry {
  eventId: string;
}

/**
 * Appends entries that carry an event id, skipping those already stored (a
 * re-sent batch) and repeats within the batch. Chains are locked in a fixed
 * order, so concurrent batches cannot deadlock. Returns how many were stored.
 */
export async function appendAuditOnce(tx: Tx, entries: readonly IdentifiedAuditEntry[]): Promise<number> {
  const unique = [...new Map(entries.map((e) => [e.eventId, e])).values()];
  const existing = new Set(
    (
      await tx.query<{ event_id: string }>(
        "SELECT event_id FROM audit_log WHERE event_id = ANY($1::text[])",
        [unique.map((e) => e.eventId)],
      )
    ).rows.map((r) => r.event_id),
  );
  const byChain = new Map<string, IdentifiedAuditEntry[]>();
  for (const e of unique) {
    if (existing.has(e.eventId)) continue;
    const chain = e.orgId ?? NIL_ORG;
    const group = byChain.get(chain);
    if (group) group.push(e);
    else byChain.set(chain, [e]);
  }
  let stored = 0;
  for (const chain of [...byChain.keys()].sort()) {
    const group = byChain.get(chain) ?? [];
    let head = await lockChain(tx, group[0]?.orgId ?? null);
    for (const e of group) {
      const { eventId, ...entry } = e;
      const next = await insertRow(tx, head, entry, eventId);
      if (next) {
        head = next;
        stored++;
      }
    }
  }
  return stored;
}
