import { Code, ConnectError } from "@connectrpc/connect";
import type { Tx } from "../db/pool.js";

/** Longest an old secret (key or token) may keep working after a rotation. */
export const MAX_GRACE_SECONDS = 7 * 24 * 3600;

export function requireGraceSeconds(value: number): number {
  if (value > MAX_GRACE_SECONDS) {
    throw new ConnectError(`grace_seconds must be at most ${MAX_GRACE_SECONDS}`, Code.InvalidArgument);
  }
  return value;
}

/**
 * Retires the rotated row of `table`: revoked now when graceSeconds is 0,
 * otherwise expiring at the end of the grace period (never later than it
 * already would). Returns the row with `columns`.
 */
export async function retireRotated<R>(
  tx: Tx,
  table: "api_keys" | "metrics_tokens",
  columns: string,
  id: string,
  graceSeconds: number,
): Promise<R> {
  const { rows } = await tx.query(
    graceSeconds === 0
      ? `UPDATE ${table} SET revoked_at = now() WHERE id = $1 RETURNING ${columns}`
      : `UPDATE ${table} SET expires_at = least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => $2))
         WHERE id = $1 RETURNING ${columns}`,
    graceSeconds === 0 ? [id] : [id, graceSeconds],
  );
  return rows[0] as R;
}
