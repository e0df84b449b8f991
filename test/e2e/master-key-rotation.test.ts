import { randomBytes } from "node:crypto";
import { createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../../control-plane/src/config.js";
import { type ControlPlane, startControlPlane } from "../../control-plane/src/main.js";
import { generateApiKey } from "../../lib/src/api-key.js";
import { createLogger } from "../../lib/src/logger.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { createTestDatabase, type TestDatabase } from "../helpers/database.js";
import { spawnGateway } from "../helpers/processes.js";

const OLD = randomBytes(32).toString("base64");
const NEW = randomBytes(32).toString("base64");
const SECRET = `sk-rotation-${randomBytes(8).toString("hex")}`;

/** Master-key rotation: add the new key first, re-wrap with the CLI, then drop the old key. */
describe("master-key rotation", () => {
  let db: TestDatabase;
  let cp: ControlPlane | undefined;
  const adminKey = generateApiKey();

  async function start(masterKey: string): Promise<ControlPlane> {
    cp = await startControlPlane(
      loadControlPlaneConfig({
        ...db.env,
        LLM_GATEWAY_MASTER_KEY: masterKey,
        LLM_GATEWAY_WORKER_TOKEN: "t".repeat(32),
        LLM_GATEWAY_ADMIN_KEY: adminKey,
        LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      }),
      createLogger("test", "warn"),
    );
    return cp;
  }

  const secretsInTable = async (c: ControlPlane) =>
    (await c.deps.tables.snapshot(c.db)).credentials.map((cred) => cred.secret);

  afterAll(async () => {
    await cp?.close();
    await db?.drop();
  });

  it("keeps every secret readable across the rotation, and the old key is no longer needed", async () => {
    db = await createTestDatabase();
    let c = await start(OLD);
    const client = createClient(
      CredentialService,
      createConnectTransport({ baseUrl: c.url, httpVersion: "1.1" }),
    );
    await client.createCredential(
      { orgId: c.bootstrapOrgId, provider: "openai", name: "openai-rotation", secret: SECRET, reason: "t" },
      { headers: { authorization: `Bearer ${adminKey}` } },
    );
    await c.close();

    // Step 1: every replica runs with "new,old": old envelopes still open.
    c = await start(`${NEW},${OLD}`);
    expect(await secretsInTable(c)).toEqual([SECRET]);
    await c.close();
    cp = undefined;

    // Step 2: the CLI re-wraps the data keys with the new key.
    const cli = spawnGateway(["rotate-master-key"], { ...db.env, LLM_GATEWAY_MASTER_KEY: `${NEW},${OLD}` });
    await cli.waitFor((l) => l.msg === "master-key rotation complete", 60_000);
    const done = cli.lines.find((l) => l.msg === "master-key rotation complete");
    expect(done?.rewrapped).toBe(1);
    await cli.stop();

    // Step 3: the old key is gone; the secret still opens, and the rotation is audited.
    c = await start(NEW);
    expect(await secretsInTable(c)).toEqual([SECRET]);
    const audit = await c.db.query("SELECT action, after FROM audit_log WHERE action = 'master_key.rewrap'");
    expect(audit.rows).toEqual([{ action: "master_key.rewrap", after: { credentials: 1 } }]);
    expect(cli.lines.map((l) => l.raw).join("\n")).not.toContain(SECRET);
  }, 120_000);
});
