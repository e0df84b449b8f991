import type { Queryable } from "../db/pool.js";
import { auditRowHash } from "./audit-log.js";

export interface AuditRow {
  id: string;
  org_id: string | null;
  seq: number;
  occurred_at: Date;
  actor: string;
  action: string;
  resource_type: string;
  resource_id: string;
  before: unknown;
  after: unknown;
  reason: string;
  prev_hash: Buffer | null;
  hash: Buffer;
}

export interface ChainReport {
  intact: boolean;
  rowsChecked: number;
  firstBroken?: { id: string; seq: number; problem: string };
}

const BATCH = 5000;

/** Recomputes one row's hash from what is stored. */
export function hashOf(row: AuditRow, prev: Buffer | null): Buffer {
  return auditRowHash(prev, row.seq, row.occurred_at.toISOString(), {
    orgId: row.org_id,
    actor: row.actor,
    action: row.action,
    resourceType: row.resource_type,
    resourceId: row.resource_id,
    before: row.before ?? undefined,
    after: row.after ?? undefined,
    reason: row.reason,
  });
}

/**
 * Walks an organization's chain in order and reports the first row whose
 * content, link or position does not verify: an edited row (hash mismatch),
 * a removed or reordered row (sequence gap or broken link).
 */
export async function verifyChain(db: Queryable, orgId: string): Promise<ChainReport> {
  let prev: Buffer | null = null;
  let expectedSeq = 1;
  let checked = 0;
  for (;;) {
    const { rows } = await db.query<AuditRow>(
      "SELECT * FROM audit_log WHERE org_id = $1 AND seq >= $2 ORDER BY seq LIMIT $3",
      [orgId, expectedSeq, BATCH],
    );
    for (const row of rows) {
      checked++;
      const broken = (problem: string): ChainReport => ({
        intact: false,
        rowsChecked: checked,
        firstBroken: { id: String(row.id), seq: Number(row.seq), problem },
      });
      if (Number(row.seq) !== expectedSeq) {
        return broken(`sequence gap: expected seq ${expectedSeq}, found ${row.seq} (rows missing)`);
      }
      const linked = prev === null ? row.prev_hash === null : row.prev_hash?.equals(prev) === true;
      if (!linked)
        return broken("prev_hash does not match the previous row's hash (a row was removed or replaced)");
      if (!hashOf(row, prev).equals(row.hash)) {
        return broken("hash does not match the row's content (the row was modified after it was written)");
      }
      prev = row.hash;
      expectedSeq++;
    }
    if (rows.length < BATCH) return { intact: true, rowsChecked: checked };
  }
}
