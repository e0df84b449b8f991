import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";

export interface SeedOptions {
  /** Organization slug (unique per database). */
  slug: string;
  /** Provider secret of the credential (the mock's API key). */
  secret: string;
  /** The credential's base URL (the mock's URL). */
  baseUrl: string;
  /** Public model name of the route; its one target serves `mock-small`. */
  model: string;
}

export interface Seeded {
  orgId: string;
  /** A member API key of the organization (the OpenAI api_key). */
  apiKey: string;
  /** That key's id (usage events name it). */
  apiKeyId: string;
  credentialId: string;
}

/**
 * Creates, through the management API as the platform admin, an organization
 * with a member key, one `openai-compatible` credential and a one-target
 * route: the smallest configuration that serves requests.
 */
export async function seedRoute(controlPlaneUrl: string, adminKey: string, o: SeedOptions): Promise<Seeded> {
  const transport = createConnectTransport({ baseUrl: controlPlaneUrl, httpVersion: "2" });
  const call = { headers: { authorization: `Bearer ${adminKey}` } };
  const reason = "seed";
  const org = await createClient(OrganizationService, transport).createOrganization(
    { slug: o.slug, reason },
    call,
  );
  const orgId = org.organization?.id ?? "";
  const key = await createClient(ApiKeyService, transport).createApiKey(
    { orgId, name: "app", role: Role.MEMBER, reason },
    call,
  );
  const cred = await createClient(CredentialService, transport).createCredential(
    {
      orgId,
      provider: "openai-compatible",
      name: o.slug,
      secret: o.secret,
      settings: { baseUrl: o.baseUrl },
      reason,
    },
    call,
  );
  const credentialId = cred.credential?.id ?? "";
  await createClient(RouteService, transport).putRoute(
    { orgId, model: o.model, targets: [{ credentialId, upstreamModel: "mock-small", weight: 1 }], reason },
    call,
  );
  return { orgId, apiKey: key.key, apiKeyId: key.apiKey?.id ?? "", credentialId };
}
