import { Code, ConnectError } from "@connectrpc/connect";
import { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { Principal } from "./principal.js";

/** What a management RPC needs. One row per action; docs/authorization.md mirrors this table. */
export type Permission =
  | "organizations.create"
  | "organizations.read"
  | "api_keys.manage"
  | "api_keys.read"
  | "credentials.manage"
  | "credentials.read"
  | "routes.manage"
  | "routes.read"
  | "audit.read"
  | "analytics.read"
  | "providers.read"
  | "metrics_tokens.manage"
  | "policies.manage"
  | "policies.read"
  | "pricing.manage"
  | "pricing.read"
  | "members.manage"
  | "members.read"
  | "workers.read"
  | "billing.manage"
  | "billing.read"
  | "analytics.platform";

/** The authorization table: which roles hold which permission inside their organization. */
export const AUTHORIZATION_TABLE: Readonly<Record<Permission, readonly Role[]>> = {
  "organizations.create": [],
  "organizations.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST, Role.MEMBER],
  "api_keys.manage": [Role.OWNER, Role.ADMIN],
  "api_keys.read": [Role.OWNER, Role.ADMIN],
  "credentials.manage": [Role.OWNER, Role.ADMIN, Role.OPERATOR],
  "credentials.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST],
  "routes.manage": [Role.OWNER, Role.ADMIN, Role.OPERATOR],
  "routes.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST],
  "audit.read": [Role.OWNER, Role.ADMIN, Role.ANALYST],
  "analytics.read": [Role.OWNER, Role.ADMIN, Role.ANALYST],
  "providers.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST, Role.MEMBER],
  "metrics_tokens.manage": [],
  "policies.manage": [Role.OWNER, Role.ADMIN],
  "policies.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST],
  "pricing.manage": [Role.OWNER, Role.ADMIN],
  "pricing.read": [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST],
  "members.manage": [Role.OWNER, Role.ADMIN],
  "members.read": [Role.OWNER, Role.ADMIN],
  // Workers serve every tenant: platform admins only.
  "workers.read": [],
  "billing.manage": [Role.OWNER, Role.ADMIN],
  "billing.read": [Role.OWNER, Role.ADMIN, Role.ANALYST],
  // Analytics across every organization: platform admins only.
  "analytics.platform": [],
};

/**
 * Throws unless the principal may do `permission` in organization `orgId`
 * (undefined for platform-wide actions). Platform admins may do everything.
 */
export function authorize(principal: Principal, permission: Permission, orgId?: string): void {
  if (principal.platformAdmin) return;
  const role = orgId === undefined ? undefined : principal.memberships.get(orgId);
  if (role === undefined || !AUTHORIZATION_TABLE[permission].includes(role)) {
    throw new ConnectError(`permission denied: ${permission}`, Code.PermissionDenied);
  }
}
