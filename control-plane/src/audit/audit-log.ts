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

/**
 * Appends one audit row inside the caller's transaction (so the row exists
 * exactly when the change does), chained to the organization's previous row.
 * A per-organization advisory lock orders concurrent writers.
 */
export async function appendAudit(tx: Tx, entry: AuditEntry): Promise<void> {
  const chain = entry.orgId ?? NIL_ORG;
  await tx.query("SELECT pg_advisory_xact_lock(hashtext('audit:' || $1))", [chain]);
  const last = await tx.query<{ seq: number; hash: Buffer }>(
    `SELECT seq, hash FROM audit_log WHERE coalesce(org_id, '${NIL_ORG}'::uuid) = $1::uuid ORDER BY seq DESC LIMIT 1`,
    [chain],
  );
  const prev = last.rows[0];
  const seq = (prev?.seq ?? 0) + 1;
  const occurredAt = new Date().toISOString();
  const hash = auditRowHash(prev?.hash ?? null, seq, occurredAt, entry);
  await tx.query(
    `INSERT INTO audit_log (org_id, seq, occurred_at, actor, action, resource_type, resource_id, before, after, reason, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
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
      prev?.hash ?? null,
      hash,
    ],
  );
}
