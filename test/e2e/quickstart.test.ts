import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, spawnGateway } from "../helpers/processes.js";

const run = promisify(execFile);

/**
 * The README's first steps: `llm-gateway start` on an empty embedded database
 * prints an admin key once, and the README's curl commands answer.
 */
describe("README quickstart on the embedded default", () => {
  let dataDir: string;
  let gateway: GatewayProcess;
  let key = "";
  let base = "";

  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), "llmgw-quickstart-"));
    const env = {
      LLM_GATEWAY_DATA_DIR: dataDir,
      LLM_GATEWAY_WORKER_PORT: "0",
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      LLM_GATEWAY_DEMO_MOCK_PORT: "0",
    };
    gateway = spawnGateway(["start"], env);
    const ready = await gateway.waitFor((l) => l.raw.includes("OpenAI-compatible API:"), 60_000);
    base = ready.raw.split("API:")[1]?.trim() ?? "";
    key = gateway.lines.map((l) => l.raw.trim()).find((l) => /^lgw_[\w-]{43}$/.test(l)) ?? "";
  }, 90_000);

  afterAll(async () => {
    await gateway?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it("prints the admin key once, only on the terminal", () => {
    expect(key).toMatch(/^lgw_/);
    const jsonLogs = gateway.lines.filter((l) => l.raw.startsWith("{")).map((l) => l.raw);
    expect(jsonLogs.join("\n")).not.toContain(key);
  });

  it("answers the README's curl, non-streaming", async () => {
    const { stdout } = await run("curl", [
      "-sS",
      `${base}/chat/completions`,
      "-H",
      `Authorization: Bearer ${key}`,
      "-H",
      "Content-Type: application/json",
      "-d",
      '{"model": "demo-model", "messages": [{"role": "user", "content": "Hello!"}]}',
    ]);
    const body = JSON.parse(stdout);
    expect(body.object).toBe("chat.completion");
    expect(body.choices[0].message.content).toMatch(/^tok0/);
  });

  it("answers the README's curl, streaming", async () => {
    const { stdout } = await run("curl", [
      "-sSN",
      `${base}/chat/completions`,
      "-H",
      `Authorization: Bearer ${key}`,
      "-H",
      "Content-Type: application/json",
      "-d",
      '{"model": "demo-model", "stream": true, "messages": [{"role": "user", "content": "Hello!"}]}',
    ]);
    const events = stdout.split("\n\n").filter(Boolean);
    expect(events.length).toBeGreaterThan(3);
    expect(events.at(-1)?.trim()).toBe("data: [DONE]");
    expect(events[1]).toContain("chat.completion.chunk");
  });
});
