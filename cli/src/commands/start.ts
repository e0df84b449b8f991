import { randomBytes } from "node:crypto";
import { loadControlPlaneConfig } from "../../../control-plane/src/config.js";
import { type DemoCredential, logSeed, seedDemo } from "../../../control-plane/src/demo-seed.js";
import { startControlPlane } from "../../../control-plane/src/main.js";
import { envInt, envOptional, envString } from "../../../lib/src/env.js";
import { createLogger } from "../../../lib/src/logger.js";
import { startMockProvider } from "../../../mock-provider/src/server.js";
import { loadWorkerConfig } from "../../../worker/src/config.js";
import { startWorker } from "../../../worker/src/main.js";
import { closeOnSignal, printOnce } from "../lifecycle.js";

/**
 * `llm-gateway start`: control plane and one worker in one process, on the
 * embedded database unless DATABASE_URL is set. On first start it creates the
 * demo: a mock provider on loopback and the route "demo-model" to it, plus an
 * OpenAI credential and route when OPENAI_API_KEY is set.
 */
export async function runStart(): Promise<void> {
  const log = createLogger("llm-gateway");
  const env = { ...process.env };
  env.LLM_GATEWAY_WORKER_TOKEN ??= randomBytes(32).toString("base64url");
  const mockEnabled = envString(env, "LLM_GATEWAY_DEMO_MOCK", "on") !== "off";
  const mock = mockEnabled
    ? await startMockProvider({
        port: envInt(env, "LLM_GATEWAY_DEMO_MOCK_PORT", 8090, 0, 65535),
        chunkIntervalMs: 30,
      })
    : undefined;
  if (mock) log.info({ url: mock.url }, "demo mock provider listening (a test tool, not a real provider)");

  const cp = await startControlPlane(loadControlPlaneConfig(env), log.child({ component: "control-plane" }));
  const demo: DemoCredential[] = [];
  if (mock) {
    demo.push({
      provider: "openai-compatible",
      name: "demo-mock-provider-local",
      secret: "",
      settings: { baseUrl: mock.url },
      routes: { "demo-model": "mock-small" },
    });
  }
  const openaiKey = envOptional(env, "OPENAI_API_KEY");
  if (openaiKey) {
    const models = envString(env, "LLM_GATEWAY_SEED_OPENAI_MODELS", "gpt-4o-mini")
      .split(",")
      .map((m) => m.trim());
    demo.push({
      provider: "openai",
      name: "openai-from-env",
      secret: openaiKey,
      settings: {},
      routes: Object.fromEntries(models.filter(Boolean).map((m) => [m, m])),
    });
  }
  if (demo.length > 0 && (await seedDemo(cp.deps, cp.bootstrapOrgId, demo))) logSeed(log, demo);

  env.LLM_GATEWAY_CONTROL_PLANE_URL = cp.url;
  const workerConfig = loadWorkerConfig(env);
  if (workerConfig.processes > 1) {
    log.warn(
      { processes: workerConfig.processes },
      "LLM_GATEWAY_WORKER_PROCESSES applies to `llm-gateway worker`; `start` runs one worker in its process",
    );
  }
  const worker = await startWorker(workerConfig, log.child({ component: "worker" }));
  await worker.sync.ready;
  if (cp.createdAdminKey) {
    printOnce("Admin API key (shown once; use it as the OpenAI api_key and for the management API):", [
      cp.createdAdminKey,
    ]);
  }
  process.stdout.write(
    `LLM gateway ready.\n  OpenAI-compatible API: ${worker.url}/v1\n  Management API:        ${cp.url}\n\n`,
  );
  closeOnSignal(log, async () => {
    await worker.close();
    await cp.close();
    await mock?.close();
  });
}
