import { randomBytes } from "node:crypto";
import type { DescService } from "@bufbuild/protobuf";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { loadControlPlaneConfig } from "../../control-plane/src/config.js";
import { type ControlPlane, startControlPlane } from "../../control-plane/src/main.js";
import { generateApiKey } from "../../lib/src/api-key.js";
import { createLogger } from "../../lib/src/logger.js";
import { createTestDatabase, type TestDatabase } from "./database.js";

export interface TestControlPlane {
  cp: ControlPlane;
  db: TestDatabase;
  adminKey: string;
  workerToken: string;
  /** A typed client over HTTP/2 (h2c). */
  client<S extends DescService>(service: S): ReturnType<typeof createClient<S>>;
  /** Call options authenticating as `key`. */
  as(key: string): { headers: { authorization: string } };
  close(): Promise<void>;
}

export interface TestControlPlaneOptions {
  /** Receives every log line (at debug level) instead of dropping all below warn. */
  logLines?: string[];
  /** Extra environment for the control plane (e.g. OIDC settings). */
  env?: Record<string, string>;
}

/** An in-process control plane on a fresh database, with a known platform-admin key. */
export async function startTestControlPlane(
  options: TestControlPlaneOptions = {},
): Promise<TestControlPlane> {
  const db = await createTestDatabase();
  const adminKey = generateApiKey();
  const workerToken = randomBytes(24).toString("hex");
  const cp = await startControlPlane(
    loadControlPlaneConfig({
      ...db.env,
      LLM_GATEWAY_MASTER_KEY: randomBytes(32).toString("base64"),
      LLM_GATEWAY_WORKER_TOKEN: workerToken,
      LLM_GATEWAY_ADMIN_KEY: adminKey,
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      ...options.env,
    }),
    options.logLines
      ? createLogger("test", "debug", { write: (line: string) => void options.logLines?.push(line) })
      : createLogger("test", "warn"),
  );
  const transport = createConnectTransport({ baseUrl: cp.url, httpVersion: "2" });
  return {
    cp,
    db,
    adminKey,
    workerToken,
    client: (service) => createClient(service, transport),
    as: (key) => ({ headers: { authorization: `Bearer ${key}` } }),
    async close() {
      await cp.close();
      await db.drop();
    },
  };
}
