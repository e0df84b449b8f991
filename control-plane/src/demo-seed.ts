import { randomUUID } from "node:crypto";
import type { Logger } from "../../lib/src/logger.js";
import { appendAudit } from "./audit/audit-log.js";
import { type EntityRef, recordChanges } from "./changes/change-log.js";
import { secretFingerprint, secretLast4 } from "./crypto/envelope.js";
import { withTransaction } from "./db/pool.js";
import type { ServiceDeps } from "./services/deps.js";
import type { StoredSettings } from "./services/mappers.js";
import { upsertRoute } from "./services/routes.js";

const ACTOR = "system:demo-seed";

export interface DemoCredential {
  provider: string;
  name: string;
  secret: string;
  settings: StoredSettings;
  /** Public model name → upstream model name. */
  routes: Record<string, string>;
}

/**
 * First start of `llm-gateway start` only: when the organization has no
 * credentials yet, creates the given credentials and their routes through the
 * same audited, versioned path as the management API. Returns whether it seeded.
 */
export async function seedDemo(
  deps: ServiceDeps,
  orgId: string,
  credentials: DemoCredential[],
): Promise<boolean> {
  const seeded = await withTransaction(deps.db, async (tx) => {
    await tx.query("SELECT pg_advisory_xact_lock(hashtext('llm-gateway:demo-seed'))");
    const existing = await tx.query("SELECT 1 FROM credentials WHERE org_id = $1 LIMIT 1", [orgId]);
    if (existing.rows.length > 0) return false;
    const changes: EntityRef[] = [];
    for (const c of credentials) {
      const id = randomUUID();
      await tx.query(
        `INSERT INTO credentials (id, org_id, provider, name, secret_envelope, secret_fingerprint, secret_last4, settings)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
        [
          id,
          orgId,
          c.provider,
          c.name,
          deps.box.seal(c.secret, `${orgId}:${id}`),
          secretFingerprint(c.secret),
          secretLast4(c.secret),
          c.settings,
        ],
      );
      changes.push({ kind: "credential", id });
      await appendAudit(tx, {
        orgId,
        actor: ACTOR,
        action: "credential.create",
        resourceType: "credential",
        resourceId: id,
        after: {
          provider: c.provider,
          name: c.name,
          settings: c.settings,
          secretFingerprint: secretFingerprint(c.secret),
        },
        reason: "demo configuration on first start",
      });
      for (const [model, upstreamModel] of Object.entries(c.routes)) {
        const { after } = await upsertRoute(tx, orgId, model, [
          { credentialId: id, upstreamModel, weight: 1 },
        ]);
        changes.push({ kind: "route", id: after.id });
        await appendAudit(tx, {
          orgId,
          actor: ACTOR,
          action: "route.create",
          resourceType: "route",
          resourceId: after.id,
          after: { model, targets: after.targets },
          reason: "demo configuration on first start",
        });
      }
    }
    await recordChanges(tx, changes);
    return true;
  });
  if (seeded) deps.feed.notify();
  return seeded;
}

export function logSeed(log: Logger, credentials: DemoCredential[]): void {
  for (const c of credentials)
    log.info({ credential: c.name, models: Object.keys(c.routes) }, "demo route created");
}
