import type { Logger } from "../../../lib/src/logger.js";
import { appendAudit } from "../audit/audit-log.js";
import { type Db, withTransaction } from "../db/pool.js";
import type { SecretBox } from "./envelope.js";

const BATCH = 200;

/** The sealed columns: credential secrets and billing integrations' admin keys. */
const SEALED = [
  { table: "credentials", column: "secret_envelope", label: "credentials" },
  { table: "billing_integrations", column: "admin_key_envelope", label: "billingIntegrations" },
] as const;

/**
 * Re-wraps every credential's (and billing admin key's) data key with the
 * current master key, in batches, each batch in its own transaction with one
 * platform audit row. Secrets and their ciphertexts are untouched, so workers
 * notice nothing; afterwards the old master key can be removed from
 * LLM_GATEWAY_MASTER_KEY. Returns how many envelopes were re-wrapped.
 */
export async function rewrapCredentials(db: Db, box: SecretBox, log: Logger): Promise<number> {
  const current = Buffer.from(box.currentKeyId, "hex");
  let total = 0;
  for (const { table, column, label } of SEALED) {
    for (;;) {
      const done = await withTransaction(db, async (tx) => {
        const { rows } = await tx.query<{ id: string; envelope: Buffer }>(
          `SELECT id, ${column} AS envelope FROM ${table} WHERE substring(${column} FROM 2 FOR 8) <> $1
           ORDER BY id LIMIT $2 FOR UPDATE SKIP LOCKED`,
          [current, BATCH],
        );
        for (const row of rows) {
          const rewrapped = box.rewrap(row.envelope);
          if (rewrapped)
            await tx.query(`UPDATE ${table} SET ${column} = $2 WHERE id = $1`, [row.id, rewrapped]);
        }
        if (rows.length > 0) {
          await appendAudit(tx, {
            orgId: null,
            actor: "system:rotate-master-key",
            action: "master_key.rewrap",
            resourceType: "master_key",
            resourceId: box.currentKeyId,
            after: { [label]: rows.length },
            reason: "master-key rotation",
          });
        }
        return rows.length;
      });
      total += done;
      if (done > 0)
        log.info({ rewrapped: total, masterKeyId: box.currentKeyId }, "credential data keys re-wrapped");
      if (done < BATCH) break;
    }
  }
  return total;
}
