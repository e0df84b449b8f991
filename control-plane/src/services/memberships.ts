import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Member,
  MemberSchema,
  type MembershipService,
} from "../../../proto/gen/llmgateway/v1/membership_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { roleFromDb, roleToDb } from "../auth/roles.js";
import { recordChanges } from "../changes/change-log.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { requireText, requireUuid } from "./validate.js";

interface MemberRow {
  user_id: string;
  org_id: string;
  issuer: string;
  subject: string;
  email: string;
  display_name: string;
  role: string;
  created_at: Date;
  last_seen_at: Date | null;
}

const SELECT = `SELECT m.user_id, m.org_id, u.issuer, u.subject, u.email, u.display_name, m.role, m.created_at, u.last_seen_at
  FROM memberships m JOIN users u ON u.id = m.user_id`;

function toProto(r: MemberRow): Member {
  return create(MemberSchema, {
    userId: r.user_id,
    orgId: r.org_id,
    issuer: r.issuer,
    subject: r.subject,
    email: r.email,
    displayName: r.display_name,
    role: roleFromDb(r.role),
    ...optTs("createdAt", r.created_at),
    ...optTs("lastSeenAt", r.last_seen_at),
  });
}

/** Memberships of OIDC users; needs an issuer configured, since users are keyed by it. */
export function createMembershipService(
  deps: ServiceDeps,
  issuer: string | undefined,
): ServiceImpl<typeof MembershipService> {
  return {
    async putMember(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "members.manage", orgId);
      if (!issuer)
        throw new ConnectError("OIDC is not configured (LLM_GATEWAY_OIDC_ISSUER)", Code.FailedPrecondition);
      const subject = requireText(req.subject, "subject", 255);
      const role = roleToDb(req.role);
      if (
        !principal.platformAdmin &&
        req.role < (principal.memberships.get(orgId) ?? Number.POSITIVE_INFINITY)
      ) {
        throw new ConnectError("cannot grant a role above your own", Code.PermissionDenied);
      }
      const reason = requireReason(req.reason);
      const row = await commitChange(deps, "member", async (tx) => {
        const user = (
          await tx.query<{ id: string }>(
            `INSERT INTO users (id, issuer, subject, email) VALUES ($1, $2, $3, $4)
             ON CONFLICT (issuer, subject) DO UPDATE SET email = CASE WHEN users.email = '' THEN EXCLUDED.email ELSE users.email END
             RETURNING id`,
            [randomUUID(), issuer, subject, req.email.trim()],
          )
        ).rows[0] as { id: string };
        const before = (
          await tx.query<{ role: string }>(
            "SELECT role FROM memberships WHERE user_id = $1 AND org_id = $2 FOR UPDATE",
            [user.id, orgId],
          )
        ).rows[0];
        const membership = (
          await tx.query<{ id: string }>(
            `INSERT INTO memberships (id, user_id, org_id, role) VALUES ($1, $2, $3, $4)
             ON CONFLICT (user_id, org_id) DO UPDATE SET role = EXCLUDED.role RETURNING id`,
            [randomUUID(), user.id, orgId, role],
          )
        ).rows[0] as { id: string };
        await recordChanges(tx, [{ kind: "membership", id: membership.id }]);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: before ? "member.update" : "member.add",
          resourceType: "user",
          resourceId: user.id,
          before: before ? { role: before.role } : undefined,
          after: { subject, role },
          reason,
        });
        return (
          await tx.query<MemberRow>(`${SELECT} WHERE m.user_id = $1 AND m.org_id = $2`, [user.id, orgId])
        ).rows[0] as MemberRow;
      });
      return { member: toProto(row) };
    },

    async listMembers(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "members.read", orgId);
      const rows = await read(
        "members",
        async () =>
          (
            await deps.db.query<MemberRow>(`${SELECT} WHERE m.org_id = $1 ORDER BY u.email, u.subject`, [
              orgId,
            ])
          ).rows,
      );
      return { members: rows.map(toProto) };
    },

    async removeMember(req, ctx) {
      const principal = requirePrincipal(ctx);
      const orgId = requireUuid(req.orgId, "org_id");
      authorize(principal, "members.manage", orgId);
      const userId = requireUuid(req.userId, "user_id");
      const reason = requireReason(req.reason);
      await commitChange(deps, "member", async (tx) => {
        const removed = (
          await tx.query<{ id: string; role: string }>(
            "DELETE FROM memberships WHERE user_id = $1 AND org_id = $2 RETURNING id, role",
            [userId, orgId],
          )
        ).rows[0];
        if (!removed) throw new ConnectError("member not found", Code.NotFound);
        await recordChanges(tx, [{ kind: "membership", id: removed.id }]);
        await appendAudit(tx, {
          orgId,
          actor: actorOf(principal),
          action: "member.remove",
          resourceType: "user",
          resourceId: userId,
          before: { role: removed.role },
          reason,
        });
      });
      return {};
    },
  };
}
