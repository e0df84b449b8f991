import { randomBytes } from "node:crypto";
import { toJsonString } from "@bufbuild/protobuf";
import { type Client, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateApiKey } from "../../lib/src/api-key.js";
import { type MockProvider, startMockProvider } from "../../mock-provider/src/server.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import {
  CredentialService,
  ListCredentialsResponseSchema,
} from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { type GatewayProcess, type LogLine, spawnGateway } from "../helpers/processes.js";

const PROVIDER_SECRET = `sk-e2e-${randomBytes(12).toString("hex")}`;
const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";

/** Polls `probe` until it returns true; resolves with the elapsed milliseconds. */
async function until(probe: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const start = performance.now();
  for (;;) {
    if (await probe()) return performance.now() - start;
    if (performance.now() - start > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const urlOf = (line: LogLine) => String(line.url);

describe("control plane and worker as separate processes", () => {
  let db: TestDatabase;
  let mock: MockProvider;
  let cp: GatewayProcess;
  let worker: GatewayProcess;
  let cpEnv: Record<string, string>;
  let cpUrl: string;
  let workerUrl: string;
  const adminKey = generateApiKey();
  let orgs: Client<typeof OrganizationService>;
  let keys: Client<typeof ApiKeyService>;
  let credentials: Client<typeof CredentialService>;
  let routes: Client<typeof RouteService>;
  let orgId = "";
  let credentialId = "";
  let openai: OpenAI;

  beforeAll(async () => {
    db = await createTestDatabase();
    mock = await startMockProvider({ apiKey: PROVIDER_SECRET });
    cpEnv = {
      ...db.env,
      LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      LLM_GATEWAY_WORKER_TOKEN: randomBytes(24).toString("hex"),
      LLM_GATEWAY_ADMIN_KEY: adminKey,
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      LLM_GATEWAY_HEARTBEAT_SECONDS: "1",
    };
    cp = spawnGateway(["control-plane"], cpEnv);
    cpUrl = urlOf(await cp.waitFor((l) => l.msg === "control plane listening"));
    worker = spawnGateway(["worker"], {
      LLM_GATEWAY_CONTROL_PLANE_URL: cpUrl,
      LLM_GATEWAY_WORKER_TOKEN: cpEnv.LLM_GATEWAY_WORKER_TOKEN as string,
      LLM_GATEWAY_WORKER_PORT: "0",
    });
    workerUrl = urlOf(await worker.waitFor((l) => l.msg === "worker listening"));
    await worker.waitFor((l) => l.msg === "routing table updated");

    const transport = createConnectTransport({ baseUrl: cpUrl, httpVersion: "2" });
    const headers = { authorization: `Bearer ${adminKey}` };
    orgs = createClient(OrganizationService, transport);
    keys = createClient(ApiKeyService, transport);
    credentials = createClient(CredentialService, transport);
    routes = createClient(RouteService, transport);
    const call = { headers };

    const org = await orgs.createOrganization(
      { slug: `e2e-${randomBytes(3).toString("hex")}`, reason: "e2e test" },
      call,
    );
    orgId = org.organization?.id ?? "";
    const key = await keys.createApiKey(
      { orgId, name: "e2e app", role: Role.MEMBER, reason: "e2e test" },
      call,
    );
    const cred = await credentials.createCredential(
      {
        orgId,
        provider: "openai-compatible",
        name: "mock-e2e-primary",
        secret: PROVIDER_SECRET,
        settings: { baseUrl: mock.url },
        reason: "e2e test",
      },
      call,
    );
    credentialId = cred.credential?.id ?? "";
    await routes.putRoute(
      {
        orgId,
        model: "e2e-model",
        targets: [{ credentialId, upstreamModel: "mock-small", weight: 1 }],
        reason: "e2e test",
      },
      call,
    );
    openai = new OpenAI({ baseURL: `${workerUrl}/v1`, apiKey: key.key, maxRetries: 0 });
  }, 90_000);

  afterAll(async () => {
    await worker?.stop();
    await cp?.stop();
    await mock?.close();
    await db?.drop();
  });

  const chatWorks = async () => {
    try {
      await openai.chat.completions.create({
        model: "e2e-model",
        messages: [{ role: "user", content: "ping" }],
      });
      return true;
    } catch {
      return false;
    }
  };

  it(`serves a non-streaming completion through the official SDK (${process.env.DATABASE_URL ? "PostgreSQL" : "PGlite"})`, async () => {
    await until(chatWorks, 2000);
    const completion = await openai.chat.completions.create({
      model: "e2e-model",
      messages: [{ role: "user", content: "Say hello" }],
    });
    expect(completion.choices[0]?.message.content).toBe(EXPECTED);
    expect(completion.model).toBe("mock-small");
    expect(completion.usage?.completion_tokens).toBe(8);
  });

  it("streams a completion chunk by chunk", async () => {
    const stream = await openai.chat.completions.create({
      model: "e2e-model",
      stream: true,
      messages: [{ role: "user", content: "Say hello" }],
    });
    const pieces: string[] = [];
    for await (const chunk of stream) pieces.push(chunk.choices[0]?.delta.content ?? "");
    expect(pieces.filter(Boolean).length).toBeGreaterThan(1);
    expect(pieces.join("")).toBe(EXPECTED);
  });

  it("answers an unknown model and a bad key with OpenAI-shaped errors", async () => {
    await expect(
      openai.chat.completions.create({ model: "no-such-model", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toMatchObject({ status: 404, code: "model_not_found" });
    const stranger = new OpenAI({ baseURL: `${workerUrl}/v1`, apiKey: generateApiKey(), maxRetries: 0 });
    await expect(
      stranger.chat.completions.create({ model: "e2e-model", messages: [{ role: "user", content: "x" }] }),
    ).rejects.toBeInstanceOf(OpenAI.AuthenticationError);
  });

  it("refuses the model within 1 s of the credential being disabled, without a restart", async () => {
    await credentials.disableCredential(
      { orgId, id: credentialId, reason: "e2e: provider incident" },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    let refusal: unknown;
    const elapsed = await until(async () => {
      try {
        await openai.chat.completions.create({
          model: "e2e-model",
          messages: [{ role: "user", content: "x" }],
        });
        return false;
      } catch (err) {
        refusal = err;
        return true;
      }
    }, 1000);
    console.log(`credential disable reached the worker in ${elapsed.toFixed(0)} ms`);
    expect(elapsed).toBeLessThan(1000);
    expect(refusal).toBeInstanceOf(OpenAI.APIError);
    expect(refusal).toMatchObject({ status: 503, code: "model_unavailable", type: "api_error" });
    expect(String((refusal as Error).message)).toContain("e2e-model");

    await credentials.enableCredential(
      { orgId, id: credentialId, reason: "e2e: provider healthy again" },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    const back = await until(chatWorks, 1000);
    console.log(`credential enable reached the worker in ${back.toFixed(0)} ms`);
  });

  it("uses a rotated provider secret without a restart", async () => {
    const auth = { headers: { authorization: `Bearer ${adminKey}` } };
    await credentials.rotateCredentialSecret(
      { orgId, id: credentialId, secret: "sk-not-what-the-mock-wants", reason: "e2e" },
      auth,
    );
    const refused = await until(async () => !(await chatWorks()), 1000);
    console.log(`rotated (wrong) secret in use after ${refused.toFixed(0)} ms`);
    await credentials.rotateCredentialSecret(
      { orgId, id: credentialId, secret: PROVIDER_SECRET, reason: "e2e" },
      auth,
    );
    await until(chatWorks, 1000);
  });

  it("keeps serving while the control plane restarts, then resumes the stream from its version", async () => {
    const lastUpdate = [...worker.lines].reverse().find((l) => l.msg === "routing table updated");
    const version = Number(lastUpdate?.version);
    expect(version).toBeGreaterThan(0);
    const port = new URL(cpUrl).port;

    await cp.stop();
    const mark = worker.lines.length;
    await worker.waitFor((l) => l.msg === "routing-table stream failed; serving last table", 10_000, mark);
    for (let i = 0; i < 3; i++) expect(await chatWorks()).toBe(true);

    cp = spawnGateway(["control-plane"], { ...cpEnv, LLM_GATEWAY_CONTROL_PLANE_PORT: port });
    await cp.waitFor((l) => l.msg === "control plane listening");
    const resumed = await worker.waitFor((l) => l.msg === "routing table updated", 15_000, mark);
    expect(resumed).toMatchObject({ kind: "delta", from: version, version });

    // The new stream is live: a change made now reaches the worker.
    const t0 = performance.now();
    await routes.putRoute(
      {
        orgId,
        model: "e2e-after-restart",
        targets: [{ credentialId, upstreamModel: "mock-small", weight: 1 }],
        reason: "e2e: after restart",
      },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    await until(async () => {
      try {
        await openai.chat.completions.create({
          model: "e2e-after-restart",
          messages: [{ role: "user", content: "x" }],
        });
        return true;
      } catch {
        return false;
      }
    }, 1000);
    console.log(`route created after restart served in ${(performance.now() - t0).toFixed(0)} ms`);
  }, 60_000);

  // The mock enforces PROVIDER_SECRET as its API key, so every successful call above proves the secret went upstream.
  it("sends the provider secret upstream and never returns it from the management API", async () => {
    const listed = await credentials.listCredentials(
      { orgId },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    expect(toJsonString(ListCredentialsResponseSchema, listed)).not.toContain(PROVIDER_SECRET);
    expect(listed.credentials[0]?.secretLast4).toBe(PROVIDER_SECRET.slice(-4));
    const logs = [...cp.lines, ...worker.lines].map((l) => l.raw).join("\n");
    expect(logs).not.toContain(PROVIDER_SECRET);
    expect(logs).not.toContain(adminKey);
  });
});
