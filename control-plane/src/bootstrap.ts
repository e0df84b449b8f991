import { hashApiKey } from "../../lib/src/api-key.js";
import type { Logger } from "../../lib/src/logger.js";
import { appendAudit } from "./audit/audit-log.js";
import { recordChanges } from "./changes/change-log.js";
import { type Db, withTransaction } from "./db/pool.js";
import { insertApiKey } from "./services/api-keys.js";
import { insertOrganization } from "./services/organizations.js";

const ACTOR = "system:bootstrap";
export const BOOTSTRAP_ORG_SLUG = "default";

export interface BootstrapResult {
  orgId: string;
  /** The generated admin key, when this call created one: print it once. */
  createdKey: string | undefined;
}

/**
 * Makes sure a platform-admin key exists. With LLM_GATEWAY_ADMIN_KEY set, that
 * key is registered (once); otherwise, on an empty database, a key is
 * generated and returned so the caller prints it once. Both live in the
 * "default" organization, which is created if missing.
 */
export async function ensureAdminKey(
  db: Db,
  log: Logger,
  adminKey: string | undefined,
): Promise<BootstrapResult> {
  return withTransaction(db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('llm-gateway:bootstrap'))");
    let org = (
      await tx.query<{ id: string }>("SELECT id FROM organizations WHERE slug = $1", [BOOTSTRAP_ORG_SLUG])
    ).rows[0];
    const changes: Array<{ kind: "organization" | "api_key"; id: string }> = [];
    if (!org) {
      org = await insertOrganization(tx, BOOTSTRAP_ORG_SLUG, "Default organization");
      changes.push({ kind: "organization", id: org.id });
      await appendAudit(tx, {
        orgId: org.id,
        actor: ACTOR,
        action: "organization.create",
        resourceType: "organization",
        resourceId: org.id,
        after: { slug: BOOTSTRAP_ORG_SLUG },
        reason: "first start",
      });
    }
    const exists = adminKey
      ? (await tx.query("SELECT 1 FROM api_keys WHERE key_hash = $1", [hashApiKey(adminKey)])).rows.length > 0
      : (await tx.query("SELECT 1 FROM api_keys WHERE platform_admin AND revoked_at IS NULL")).rows.length >
        0;
    let createdKey: string | undefined;
    if (!exists) {
      const { row, key } = await insertApiKey(tx, {
        orgId: org.id,
        name: adminKey ? "admin (LLM_GATEWAY_ADMIN_KEY)" : "bootstrap admin",
        role: "owner",
        platformAdmin: true,
        ...(adminKey ? { key: adminKey } : {}),
      });
      changes.push({ kind: "api_key", id: row.id });
      await appendAudit(tx, {
        orgId: org.id,
        actor: ACTOR,
        action: "api_key.create",
        resourceType: "api_key",
        resourceId: row.id,
        after: { name: row.name, prefix: row.prefix, role: "owner", platformAdmin: true },
        reason: adminKey ? "registered from LLM_GATEWAY_ADMIN_KEY" : "first start",
      });
      if (!adminKey) createdKey = key;
      log.info({ keyId: row.id, prefix: row.prefix }, "platform admin key registered");
    }
    if (changes.length > 0) await recordChanges(tx, changes);
    return { orgId: org.id, createdKey };
  });
}
