import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { AUTHORIZATION_TABLE, authorize, type Permission } from "./authorize.js";
import { keyPrincipal, type Principal } from "./principal.js";

const ORG = "11111111-1111-4111-8111-111111111111";
const OTHER_ORG = "22222222-2222-4222-8222-222222222222";

const PERMISSIONS: readonly Permission[] = [
  "organizations.create",
  "organizations.read",
  "api_keys.manage",
  "api_keys.read",
  "credentials.manage",
  "credentials.read",
  "routes.manage",
  "routes.read",
  "audit.read",
  "analytics.read",
  "providers.read",
  "metrics_tokens.manage",
  "policies.manage",
  "policies.read",
  "pricing.manage",
  "pricing.read",
  "members.manage",
  "members.read",
  "workers.read",
  "billing.manage",
  "billing.read",
  "analytics.platform",
];
const ROLES = [Role.OWNER, Role.ADMIN, Role.OPERATOR, Role.ANALYST, Role.MEMBER] as const;

// The authorization table written out independently of the code, so a change to either shows up here.
const EXPECTED: Record<Permission, Record<(typeof ROLES)[number], boolean>> = {
  "organizations.create": { 1: false, 2: false, 3: false, 4: false, 5: false },
  "organizations.read": { 1: true, 2: true, 3: true, 4: true, 5: true },
  "api_keys.manage": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "api_keys.read": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "credentials.manage": { 1: true, 2: true, 3: true, 4: false, 5: false },
  "credentials.read": { 1: true, 2: true, 3: true, 4: true, 5: false },
  "routes.manage": { 1: true, 2: true, 3: true, 4: false, 5: false },
  "routes.read": { 1: true, 2: true, 3: true, 4: true, 5: false },
  "audit.read": { 1: true, 2: true, 3: false, 4: true, 5: false },
  "analytics.read": { 1: true, 2: true, 3: false, 4: true, 5: false },
  "providers.read": { 1: true, 2: true, 3: true, 4: true, 5: true },
  "metrics_tokens.manage": { 1: false, 2: false, 3: false, 4: false, 5: false },
  "policies.manage": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "policies.read": { 1: true, 2: true, 3: true, 4: true, 5: false },
  "pricing.manage": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "pricing.read": { 1: true, 2: true, 3: true, 4: true, 5: false },
  "members.manage": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "members.read": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "workers.read": { 1: false, 2: false, 3: false, 4: false, 5: false },
  "billing.manage": { 1: true, 2: true, 3: false, 4: false, 5: false },
  "billing.read": { 1: true, 2: true, 3: false, 4: true, 5: false },
  "analytics.platform": { 1: false, 2: false, 3: false, 4: false, 5: false },
};

function principal(role: Role, platformAdmin = false, orgId = ORG): Principal {
  return keyPrincipal("key-1", orgId, role, platformAdmin);
}

function denial(fn: () => void): ConnectError | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConnectError) return err;
    throw err;
  }
  return undefined;
}

describe("AUTHORIZATION_TABLE", () => {
  it("covers exactly the known permissions", () => {
    expect(Object.keys(AUTHORIZATION_TABLE).sort()).toEqual([...PERMISSIONS].sort());
  });

  it("never grants ROLE_UNSPECIFIED", () => {
    for (const roles of Object.values(AUTHORIZATION_TABLE)) expect(roles).not.toContain(Role.UNSPECIFIED);
  });
});

describe("authorize", () => {
  const cells = PERMISSIONS.flatMap((permission) =>
    ROLES.map((role) => [permission, Role[role], role, EXPECTED[permission][role]] as const),
  );

  it.each(cells)("%s for %s in its own organization: allowed=%s", (permission, _name, role, allowed) => {
    expect(AUTHORIZATION_TABLE[permission].includes(role)).toBe(allowed);
    const err = denial(() => authorize(principal(role), permission, ORG));
    if (allowed) {
      expect(err).toBeUndefined();
    } else {
      expect(err?.code).toBe(Code.PermissionDenied);
      expect(err?.rawMessage).toContain(permission);
    }
  });

  it.each(cells)("%s for %s in another organization is denied", (permission, _name, role) => {
    const err = denial(() => authorize(principal(role), permission, OTHER_ORG));
    expect(err?.code).toBe(Code.PermissionDenied);
  });

  it.each(cells)("%s for %s without an organization is denied", (permission, _name, role) => {
    const err = denial(() => authorize(principal(role), permission));
    expect(err?.code).toBe(Code.PermissionDenied);
  });

  it.each(PERMISSIONS)("%s is denied to ROLE_UNSPECIFIED", (permission) => {
    const err = denial(() => authorize(principal(Role.UNSPECIFIED), permission, ORG));
    expect(err?.code).toBe(Code.PermissionDenied);
  });

  it.each([...ROLES, Role.UNSPECIFIED])("organizations.create is denied to role %i", (role) => {
    for (const orgId of [undefined, ORG, OTHER_ORG]) {
      const err = denial(() => authorize(principal(role), "organizations.create", orgId));
      expect(err?.code).toBe(Code.PermissionDenied);
    }
  });

  const platformCases = PERMISSIONS.flatMap((permission) =>
    [undefined, ORG, OTHER_ORG].map((orgId) => [permission, orgId ?? "no organization"] as const),
  );
  it.each(platformCases)("a platform admin may %s in %s", (permission, org) => {
    const orgId = org === "no organization" ? undefined : org;
    for (const role of [Role.MEMBER, Role.UNSPECIFIED]) {
      expect(denial(() => authorize(principal(role, true), permission, orgId))).toBeUndefined();
    }
  });
});
