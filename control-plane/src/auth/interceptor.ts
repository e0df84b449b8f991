import { createHash, timingSafeEqual } from "node:crypto";
import type { Interceptor } from "@connectrpc/connect";
import { hashApiKey } from "../../../lib/src/api-key.js";
import { looksLikeJwt } from "../../../lib/src/oidc.js";
import type { Db } from "../db/pool.js";
import type { OidcVerifier } from "./oidc.js";
import { keyPrincipal, principalKey, workerKey } from "./principal.js";
import { roleFromDb } from "./roles.js";

function bearer(header: string | null): string | undefined {
  if (!header) return undefined;
  const match = /^Bearer\s+(.+)$/i.exec(header);
  return match?.[1]?.trim();
}

const digest = (s: string) => createHash("sha256").update(s).digest();

interface KeyRow {
  id: string;
  org_id: string;
  role: string;
  platform_admin: boolean;
}

/**
 * Resolves the bearer token to a principal (a gateway API key, or an OIDC
 * session token when OIDC is configured) or to the worker identity (the
 * shared worker token) and stores it in the context.
 * Handlers decide what they require; an unknown token leaves both unset.
 */
/** How often a key's last_used_at is written for management calls. */
const LAST_USED_EVERY_MS = 60_000;

export function createAuthInterceptor(db: Db, workerToken: string, oidc?: OidcVerifier): Interceptor {
  const workerDigest = digest(workerToken);
  const lastWritten = new Map<string, number>();
  const touch = (keyId: string) => {
    const now = Date.now();
    if ((lastWritten.get(keyId) ?? 0) > now - LAST_USED_EVERY_MS) return;
    lastWritten.set(keyId, now);
    if (lastWritten.size > 100_000) lastWritten.clear();
    db.query("UPDATE api_keys SET last_used_at = greatest(last_used_at, now()) WHERE id = $1", [keyId]).catch(
      () => {
        lastWritten.delete(keyId); // best effort: retried on the next call
      },
    );
  };
  return (next) => async (req) => {
    const token = bearer(req.header.get("authorization"));
    if (token) {
      if (timingSafeEqual(digest(token), workerDigest)) {
        req.contextValues.set(workerKey, true);
      } else if (oidc && looksLikeJwt(token)) {
        const principal = await oidc.verify(token);
        if (principal) req.contextValues.set(principalKey, principal);
      } else {
        const { rows } = await db.query<KeyRow>(
          `SELECT k.id, k.org_id, k.role, k.platform_admin FROM api_keys k JOIN organizations o ON o.id = k.org_id
           WHERE k.key_hash = $1 AND k.revoked_at IS NULL AND (k.expires_at IS NULL OR k.expires_at > now())
             AND NOT o.disabled`,
          [hashApiKey(token)],
        );
        const row = rows[0];
        if (row) {
          const principal = keyPrincipal(row.id, row.org_id, roleFromDb(row.role), row.platform_admin);
          req.contextValues.set(principalKey, principal);
          touch(row.id);
        }
      }
    }
    return next(req);
  };
}
