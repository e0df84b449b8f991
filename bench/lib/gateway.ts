/**
 * The gateway's processes for a benchmark, each started from a build's dist/
 * (`llm-gateway <command>`): the mock provider, a control plane on a fresh
 * database of a PostgreSQL server, and workers, plus the secrets they share.
 */
import { randomBytes } from "node:crypto";
import { join } from "node:path";
import pg from "pg";
import { generateApiKey } from "../../lib/src/api-key.js";
import { projectRoot } from "../../lib/src/paths.js";
import { mallocDefaults, NODE_FLAGS } from "../../worker/src/heap.js";
import { type Child, spawnUntilListening } from "./process.js";

export const THIS_DIST = join(projectRoot(), "dist");

export interface Started {
  url: string;
  child: Child;
}

export interface GatewaySecrets {
  /** the mock's API key (the credential's secret) */
  secret: string;
  adminKey: string;
  workerToken: string;
  masterKey: string;
}

export function gatewaySecrets(): GatewaySecrets {
  return {
    secret: `sk-bench-${randomBytes(8).toString("hex")}`,
    adminKey: generateApiKey(),
    workerToken: randomBytes(24).toString("hex"),
    masterKey: randomBytes(32).toString("base64"),
  };
}

export interface FreshDatabase {
  url: string;
  drop(): Promise<void>;
}

/** Creates `llmgw_bench_<random>` on the server `serverUrl` names; `drop` removes it. */
export async function freshDatabase(serverUrl: string): Promise<FreshDatabase> {
  const name = `llmgw_bench_${randomBytes(4).toString("hex")}`;
  const admin = new pg.Client({ connectionString: serverUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      try {
        await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await admin.end();
      }
    },
  };
}

function cli(
  name: string,
  dist: string,
  args: string[],
  env: Record<string, string>,
  msg: string,
  nodeArgs: readonly string[] = [],
) {
  return spawnUntilListening(
    name,
    process.execPath,
    [...nodeArgs, join(dist, "cli/src/main.js"), ...args],
    { LOG_LEVEL: "info", ...env },
    msg,
  );
}

/** The mock provider of this checkout (whichever build is measured); its url ends in /v1. */
export function startMock(secret: string, extraArgs: string[] = []): Promise<Started> {
  return cli(
    "mock",
    THIS_DIST,
    ["mock-provider", "--port", "0", "--api-key", secret, ...extraArgs],
    {},
    "mock provider listening",
  );
}

export function startControlPlane(
  dist: string,
  databaseUrl: string,
  s: GatewaySecrets,
  env: Record<string, string> = {},
  name = "control-plane",
): Promise<Started> {
  return cli(
    name,
    dist,
    ["control-plane"],
    {
      DATABASE_URL: databaseUrl,
      LLM_GATEWAY_MASTER_KEY: s.masterKey,
      LLM_GATEWAY_WORKER_TOKEN: s.workerToken,
      LLM_GATEWAY_ADMIN_KEY: s.adminKey,
      LLM_GATEWAY_CONTROL_PLANE_PORT: "0",
      ...env,
    },
    "control plane listening",
  );
}

export function startWorker(
  dist: string,
  controlPlaneUrl: string,
  s: GatewaySecrets,
  env: Record<string, string> = {},
  name = "worker",
): Promise<Started> {
  return cli(
    name,
    dist,
    ["worker"],
    {
      // as the image runs it (Dockerfile ENV)
      ...mallocDefaults(process.env),
      LLM_GATEWAY_CONTROL_PLANE_URL: controlPlaneUrl,
      LLM_GATEWAY_WORKER_TOKEN: s.workerToken,
      LLM_GATEWAY_WORKER_PORT: "0",
      ...env,
    },
    "worker listening",
    // as the image runs it (its ENTRYPOINT)
    NODE_FLAGS,
  );
}
