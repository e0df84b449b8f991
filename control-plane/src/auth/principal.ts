import { Code, ConnectError, createContextKey, type HandlerContext } from "@connectrpc/connect";
import type { Role } from "../../../proto/gen/llmgateway/v1/common_pb.js";

/**
 * Who is calling a management RPC: a gateway API key (one organization) or
 * a user signed in through OIDC (their memberships).
 */
export interface Principal {
  kind: "api_key" | "user";
  /** The API key id or the user id. */
  id: string;
  /** Organization id → role there. */
  memberships: ReadonlyMap<string, Role>;
  platformAdmin: boolean;
}

/** A principal for an API key of one organization. */
export function keyPrincipal(keyId: string, orgId: string, role: Role, platformAdmin: boolean): Principal {
  return { kind: "api_key", id: keyId, memberships: new Map([[orgId, role]]), platformAdmin };
}

/** Set by the authentication interceptor; undefined for unauthenticated calls. */
export const principalKey = createContextKey<Principal | undefined>(undefined, {
  description: "authenticated principal",
});

/** Set when the caller presented the worker token. */
export const workerKey = createContextKey<boolean>(false, { description: "caller is a worker" });

export function requirePrincipal(ctx: HandlerContext): Principal {
  const principal = ctx.values.get(principalKey);
  if (!principal) throw new ConnectError("missing or invalid API key", Code.Unauthenticated);
  return principal;
}

export function requireWorker(ctx: HandlerContext): void {
  if (!ctx.values.get(workerKey))
    throw new ConnectError("missing or invalid worker token", Code.Unauthenticated);
}

/** Audit actor string: never contains a secret. */
export function actorOf(principal: Principal): string {
  return `${principal.kind}:${principal.id}`;
}
