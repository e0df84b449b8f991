import { spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { Role } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { startTestGateway, type TestGateway } from "./gateway.js";

/** One executable (```sh) block of a runbook, under its `## ` section. */
export interface RunbookBlock {
  section: string;
  /** Position among the section's sh blocks, from 0. */
  index: number;
  /** 1-based line of the opening fence, for messages. */
  line: number;
  code: string;
}

/**
 * The ```sh blocks of a Markdown document in order, each with the `## `
 * heading above it. Other fences (text, yaml, console, …) are illustrations
 * and are skipped.
 */
export function parseRunbook(markdown: string): RunbookBlock[] {
  const blocks: RunbookBlock[] = [];
  const lines = markdown.split("\n");
  let section = "";
  let fence: { info: string; line: number; body: string[] } | undefined;
  const perSection = new Map<string, number>();
  lines.forEach((text, i) => {
    if (fence) {
      if (/^```\s*$/.test(text)) {
        if (fence.info === "sh") {
          const index = perSection.get(section) ?? 0;
          perSection.set(section, index + 1);
          blocks.push({ section, index, line: fence.line, code: fence.body.join("\n") });
        }
        fence = undefined;
      } else fence.body.push(text);
      return;
    }
    const open = /^```(\S*)/.exec(text);
    if (open) fence = { info: open[1] ?? "", line: i + 1, body: [] };
    else if (text.startsWith("## ")) section = text.slice(3).trim();
  });
  if (fence) throw new Error(`unclosed code fence at line ${fence.line}`);
  return blocks;
}

/** Upper-case shell variables the blocks assign (`NAME=…`): the state carried from block to block. */
export function assignedVariables(blocks: readonly RunbookBlock[]): string[] {
  const names = new Set<string>();
  for (const b of blocks) {
    for (const m of b.code.matchAll(/(?:^|[\s;(&|])([A-Z][A-Z0-9_]*)=/gm)) if (m[1]) names.add(m[1]);
  }
  return [...names].sort();
}

export interface BlockResult {
  status: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs blocks one after another as `bash -euo pipefail`, each in a fresh
 * process in `cwd` with `env`, as if typed into one shell: the variables in
 * `carry` and every function a block defined are saved after each successful
 * block and sourced before the next.
 */
export function createRunbookShell(options: {
  cwd: string;
  env: Record<string, string>;
  carry: readonly string[];
  timeoutMs?: number;
}) {
  const state = join(options.cwd, ".runbook-state.sh");
  let n = 0;
  return async (code: string): Promise<BlockResult> => {
    const script = join(options.cwd, `.runbook-block-${++n}.sh`);
    await writeFile(
      script,
      [
        `if [ -f '${state}' ]; then source '${state}'; fi`,
        code,
        `{ for __v in ${options.carry.join(" ")}; do if [[ -v $__v ]]; then declare -p "$__v"; fi; done; declare -f; } > '${state}.tmp'`,
        `mv '${state}.tmp' '${state}'`,
        "",
      ].join("\n"),
    );
    return new Promise((resolve, reject) => {
      const child = spawn("bash", ["-euo", "pipefail", script], {
        cwd: options.cwd,
        env: options.env,
        stdio: ["ignore", "pipe", "pipe"],
        timeout: options.timeoutMs ?? 30_000,
      });
      let stdout = "";
      let stderr = "";
      child.stdout.setEncoding("utf8").on("data", (d: string) => {
        stdout += d;
      });
      child.stderr.setEncoding("utf8").on("data", (d: string) => {
        stderr += d;
      });
      child.on("error", reject);
      child.on("close", (status) => resolve({ status, stdout, stderr }));
    });
  };
}

/** The mock provider's keys: the primary's, the backup's, and the primary's after rotation. */
export const SECRETS = Object.fromEntries(
  ["primary", "backup", "rotated"].map((p) => [
    p,
    `sk-${p}-${createHash("sha256").update(p).digest("hex").slice(0, 12)}`,
  ]),
) as Record<"primary" | "backup" | "rotated", string>;

/**
 * The production state the runbook starts from: a gateway whose organization
 * has an admin key for the operator ("ops"), the app's member key, a primary
 * credential ("openai-prod-chat" → mock-small) routed as `model`, and a
 * metrics token in a private file; plus the shell environment the runbook's
 * "Before you start" asks for.
 */
export interface RunbookWorld {
  g: TestGateway;
  /** Working directory of the blocks (files they write land here). */
  dir: string;
  env: Record<string, string>;
  primary: string;
  opsKeyId: string;
  metricsTokenId: string;
  metricsToken: string;
  /** Requests from the app key; returns the upstream models that answered. */
  traffic(n: number): Promise<string[]>;
  /** Usage and operational events (past their 100 ms window) delivered to the control plane. */
  settle(): Promise<void>;
  /** The worker runs the current table and has reported so (every 200 ms). */
  reported(): Promise<void>;
  close(): Promise<void>;
}

export async function startRunbookWorld(o: {
  root: string;
  model: string;
  ticket: string;
}): Promise<RunbookWorld> {
  const g = await startTestGateway({
    mock: { apiKeys: Object.values(SECRETS) },
    workerEnv: {
      LLM_GATEWAY_OPERATIONAL_EVENT_WINDOW_MS: "100",
      LLM_GATEWAY_STATUS_REPORT_MS: "200",
      LLM_GATEWAY_CIRCUIT_OPEN_MS: "60000", // the outage's open circuit stays open while the runbook looks at it
    },
  });
  const admin = g.cp.as(g.cp.adminKey);
  const orgId = g.orgId;
  const ops = await g.cp
    .client(ApiKeyService)
    .createApiKey({ orgId, name: "ops", role: Role.ADMIN, reason: "test" }, admin);
  const settings = { baseUrl: g.mock.url };
  const created = await g.cp.client(CredentialService).createCredential(
    {
      orgId,
      provider: "openai-compatible",
      name: "openai-prod-chat",
      secret: SECRETS.primary,
      settings,
      reason: "t",
    },
    admin,
  );
  const primary = created.credential?.id ?? "";
  await g.cp.client(RouteService).putRoute(
    {
      orgId,
      model: o.model,
      targets: [{ credentialId: primary, upstreamModel: "mock-small", weight: 1 }],
      reason: "t",
    },
    admin,
  );
  await g.synced();
  const token = await g.cp
    .client(MetricsTokenService)
    .createMetricsToken({ name: "prometheus", reason: "t" }, admin);
  // npx finds `buf` in the repository's node_modules only from a directory inside the repository.
  await mkdir(join(o.root, "node_modules/.cache"), { recursive: true });
  const dir = await mkdtemp(join(o.root, "node_modules/.cache/runbook-"));
  await writeFile(join(dir, "metrics-token"), token.token, { mode: 0o600 });
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? "",
    HOME: process.env.HOME ?? dir,
    LANG: "C.UTF-8",
    CP: g.cp.cp.url,
    WORKER: g.worker.url,
    KEY: ops.key,
    ADMIN_KEY: g.cp.adminKey,
    MODEL: o.model,
    TICKET: o.ticket,
    METRICS_TOKEN_FILE: join(dir, "metrics-token"),
    BACKUP_PROVIDER: "openai-compatible",
    BACKUP_BASE_URL: g.mock.url,
    BACKUP_UPSTREAM: "mock-large",
    BACKUP_SECRET: SECRETS.backup,
    NEW_PROVIDER_SECRET: SECRETS.rotated,
    LEAKED_KEY: g.apiKey,
    DOCS_DIR: join(o.root, "docs"),
  };
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  return {
    g,
    dir,
    env,
    primary,
    opsKeyId: ops.apiKey?.id ?? "",
    metricsTokenId: token.metricsToken?.id ?? "",
    metricsToken: token.token,
    async traffic(n) {
      const served: string[] = [];
      for (let i = 0; i < n; i++) {
        const res = await fetch(`${g.worker.url}/v1/chat/completions`, {
          method: "POST",
          headers: { authorization: `Bearer ${g.apiKey}`, "content-type": "application/json" },
          body: JSON.stringify({ model: o.model, messages: [{ role: "user", content: "hello" }] }),
        });
        if (res.status !== 200) throw new Error(`app request: HTTP ${res.status} ${await res.text()}`);
        served.push(((await res.json()) as { model: string }).model);
      }
      return served;
    },
    async settle() {
      await pause(150);
      await g.worker.usage.flush();
      await g.worker.usage.flush(); // the first may join a flush that started before our events
    },
    async reported() {
      await g.synced();
      await pause(400);
    },
    async close() {
      await g.close();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
