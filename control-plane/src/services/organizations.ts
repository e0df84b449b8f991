import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import { Code, ConnectError, type ServiceImpl } from "@connectrpc/connect";
import {
  type Organization,
  OrganizationSchema,
  type OrganizationService,
} from "../../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { appendAudit, requireReason } from "../audit/audit-log.js";
import { authorize } from "../auth/authorize.js";
import { actorOf, requirePrincipal } from "../auth/principal.js";
import { recordChanges } from "../changes/change-log.js";
import type { Queryable } from "../db/pool.js";
import { commitChange, read, type ServiceDeps } from "./deps.js";
import { optTs } from "./mappers.js";
import { notFound, requireText, requireUuid } from "./validate.js";

const SLUG = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;

interface OrgRow {
  id: string;
  slug: string;
  display_name: string;
  disabled: boolean;
  created_at: Date;
}

function toProto(r: OrgRow): Organization {
  return create(OrganizationSchema, {
    id: r.id,
    slug: r.slug,
    displayName: r.display_name,
    disabled: r.disabled,
    ...optTs("createdAt", r.created_at),
  });
}

/** Inserts an organization; shared by the RPC and the first-start bootstrap. */
export async function insertOrganization(db: Queryable, slug: string, displayName: string): Promise<OrgRow> {
  const { rows } = await db.query<OrgRow>(
    "INSERT INTO organizations (id, slug, display_name) VALUES ($1, $2, $3) RETURNING *",
    [randomUUID(), slug, displayName],
  );
  return rows[0] as OrgRow;
}

export function createOrganizationService(deps: ServiceDeps): ServiceImpl<typeof OrganizationService> {
  return {
    async createOrganization(req, ctx) {
      const principal = requirePrincipal(ctx);
      authorize(principal, "organizations.create");
      const reason = requireReason(req.reason);
      if (!SLUG.test(req.slug)) {
        throw new ConnectError("slug must be 1-63 lowercase letters, digits or dashes", Code.InvalidArgument);
      }
      const displayName = requireText(req.displayName || req.slug, "display_name");
      const row = await commitChange(deps, `organization "${req.slug}"`, async (tx) => {
        const org = await insertOrganization(tx, req.slug, displayName);
        await appendAudit(tx, {
          orgId: org.id,
          actor: actorOf(principal),
          action: "organization.create",
          resourceType: "organization",
          resourceId: org.id,
          after: { slug: org.slug, displayName: org.display_name },
          reason,
        });
        await recordChanges(tx, [{ kind: "organization", id: org.id }]);
        return org;
      });
      return { organization: toProto(row) };
    },

    async getOrganization(req, ctx) {
      const principal = requirePrincipal(ctx);
      const id = requireUuid(req.id, "id");
      authorize(principal, "organizations.read", id);
      const rows = await read(
        "organization",
        async () => (await deps.db.query<OrgRow>("SELECT * FROM organizations WHERE id = $1", [id])).rows,
      );
      const row = rows[0];
      if (!row) throw notFound("organization");
      return { organization: toProto(row) };
    },

    async listOrganizations(_req, ctx) {
      const principal = requirePrincipal(ctx);
      const rows = await read("organizations", async () =>
        principal.platformAdmin
          ? (await deps.db.query<OrgRow>("SELECT * FROM organizations ORDER BY slug")).rows
          : (
              await deps.db.query<OrgRow>(
                "SELECT * FROM organizations WHERE id = ANY($1::uuid[]) ORDER BY slug",
                [[...principal.memberships.keys()]],
              )
            ).rows,
      );
      return { organizations: rows.map(toProto) };
    },
  };
}
