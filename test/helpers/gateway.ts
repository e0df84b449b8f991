import { randomBytes } from "node:crypto";
import OpenAI from "openai";
import { currentVersion } from "../../control-plane/src/changes/change-log.js";
import { createLogger } from "../../lib/src/logger.js";
import {
  type MockProvider,
  type MockProviderOptions,
  startMockProvider,
} from "../../mock-provider/src/server.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { type ErrorClass, Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { loadWorkerConfig } from "../../worker/src/config.js";
import { startWorker, type Worker } from "../../worker/src/main.js";
import { startTestControlPlane, type TestControlPlane } from "./control-plane.js";

export interface TargetSpec {
  credentialId: string;
  upstreamModel?: string;
  weight?: number;
}

/**
 * An in-process control plane and worker on loopback ports, one organization
 * with a member key, and a mock provider that accepts a distinct secret per
 * credential (so its counters and fault rules tell credentials apart). The
 * worker is a real HTTP server; tests call it with the OpenAI SDK or fetch.
 */
export interface TestGateway {
  cp: TestControlPlane;
  worker: Worker;
  mock: MockProvider;
  orgId: string;
  /** The organization's member API key (the OpenAI api_key). */
  apiKey: string;
  /** OpenAI SDK against the worker, no SDK retries. */
  openai: OpenAI;
  /**
   * Creates a credential to the mock (or `baseUrl`), with the next mock key as
   * its secret unless `secret` turns that key into another one (SigV4 keys, a
   * service account); returns its id and the mock key.
   */
  credential(opts?: {
    provider?: string;
    baseUrl?: string;
    settings?: Record<string, unknown>;
    secret?: (mockKey: string) => string;
  }): Promise<{ id: string; secret: string }>;
  /** Creates or replaces a route; resolves once the worker serves the new table. */
  route(
    model: string,
    targets: TargetSpec[],
    fallbacks?: Array<{ targets: TargetSpec[]; triggers: ErrorClass[] }>,
  ): Promise<void>;
  /** Resolves once the worker runs the control plane's current version. */
  synced(): Promise<void>;
  close(): Promise<void>;
}

const admin = (cp: TestControlPlane) => cp.as(cp.adminKey);

export async function startTestGateway(
  options: { workerEnv?: Record<string, string>; secrets?: number; mock?: MockProviderOptions } = {},
): Promise<TestGateway> {
  const secrets = Array.from(
    { length: options.secrets ?? 24 },
    () => `sk-mock-${randomBytes(9).toString("hex")}`,
  );
  const mock = await startMockProvider({ apiKeys: secrets, chunkCount: 8, ...options.mock });
  const cp = await startTestControlPlane();
  const worker = await startWorker(
    loadWorkerConfig({
      LLM_GATEWAY_CONTROL_PLANE_URL: cp.cp.url,
      LLM_GATEWAY_WORKER_TOKEN: cp.workerToken,
      LLM_GATEWAY_WORKER_PORT: "0",
      LLM_GATEWAY_RETRY_BACKOFF_MS: "10",
      LLM_GATEWAY_RETRY_BACKOFF_MAX_MS: "50",
      ...options.workerEnv,
    }),
    createLogger("test-worker", "warn"),
  );
  await worker.sync.ready;
  const org = await cp
    .client(OrganizationService)
    .createOrganization({ slug: `routing-${randomBytes(3).toString("hex")}`, reason: "test" }, admin(cp));
  const orgId = org.organization?.id ?? "";
  const key = await cp
    .client(ApiKeyService)
    .createApiKey({ orgId, name: "app", role: Role.MEMBER, reason: "test" }, admin(cp));
  let nextSecret = 0;

  const gateway: TestGateway = {
    cp,
    worker,
    mock,
    orgId,
    apiKey: key.key,
    openai: new OpenAI({ baseURL: `${worker.url}/v1`, apiKey: key.key, maxRetries: 0 }),
    async credential(opts = {}) {
      const secret = secrets[nextSecret++];
      if (!secret) throw new Error("out of mock secrets: raise `secrets`");
      const created = await cp.client(CredentialService).createCredential(
        {
          orgId,
          provider: opts.provider ?? "openai-compatible",
          name: `cred-${nextSecret}-${randomBytes(2).toString("hex")}`,
          secret: opts.secret ? opts.secret(secret) : secret,
          settings: { baseUrl: opts.baseUrl ?? mock.url, ...opts.settings },
          reason: "test",
        },
        admin(cp),
      );
      return { id: created.credential?.id ?? "", secret };
    },
    async route(model, targets, fallbacks = []) {
      const norm = (t: TargetSpec) => ({
        credentialId: t.credentialId,
        upstreamModel: t.upstreamModel ?? "mock-small",
        weight: t.weight ?? 1,
      });
      await cp.client(RouteService).putRoute(
        {
          orgId,
          model,
          targets: targets.map(norm),
          fallbacks: fallbacks.map((f) => ({ targets: f.targets.map(norm), triggers: f.triggers })),
          reason: "test",
        },
        admin(cp),
      );
      await gateway.synced();
    },
    async synced() {
      const want = await currentVersion(cp.cp.db);
      const until = Date.now() + 5000;
      while (worker.table.version < want) {
        if (Date.now() > until) throw new Error(`worker stuck at version ${worker.table.version} < ${want}`);
        await new Promise((r) => setTimeout(r, 5));
      }
    },
    async close() {
      await worker.close();
      await cp.close();
      await mock.close();
    },
  };
  return gateway;
}
