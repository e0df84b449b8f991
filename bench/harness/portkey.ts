/**
 * The peer: Portkey's open-source gateway (`@portkey-ai/gateway`), installed
 * from npm into a scratch folder at run time (never into the repository's
 * package.json) and started as its own process on a free loopback port,
 * pointed at the mock through its OpenAI provider and a custom host.
 */
import { execFile } from "node:child_process";
import { mkdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { promisify } from "node:util";
import { THIS_DIST } from "../lib/gateway.js";
import { type Child, freePort, spawnTracked, stop, waitUntil } from "../lib/process.js";

const run = promisify(execFile);
const PACKAGE = "@portkey-ai/gateway";

/** Installs `@portkey-ai/gateway@<spec>` under `dir`; resolves with the installed version. */
export async function installPortkey(dir: string, spec: string): Promise<string> {
  await mkdir(dir, { recursive: true });
  try {
    await run(
      "npm",
      ["install", "--prefix", dir, "--no-audit", "--no-fund", "--loglevel=error", `${PACKAGE}@${spec}`],
      { timeout: 240_000, env: { ...process.env, npm_config_update_notifier: "false" } },
    );
  } catch (error) {
    const e = error as Error & { stderr?: string };
    throw new Error(`npm install ${PACKAGE}@${spec} failed: ${(e.stderr ?? e.message).trim().slice(0, 600)}`);
  }
  const pkg = JSON.parse(await readFile(join(dir, "node_modules", PACKAGE, "package.json"), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

export interface RunningPortkey {
  child: Child;
  /** chat completions URL */
  url: string;
  /** what routes a request to the mock: provider, custom host and the mock's key */
  headers: Record<string, string>;
}

/**
 * Starts the installed gateway (`build/start-server.js --port=N --headless`,
 * preloaded with loopback-only.js so it binds 127.0.0.1) and waits until a chat
 * completion through it to `mockV1Url` succeeds.
 */
export async function startPortkey(dir: string, mockV1Url: string, secret: string): Promise<RunningPortkey> {
  const port = await freePort();
  const entry = join(dir, "node_modules", PACKAGE, "build", "start-server.js");
  const preload = pathToFileURL(join(THIS_DIST, "bench", "harness", "loopback-only.js")).href;
  const child = spawnTracked(
    "portkey",
    process.execPath,
    ["--import", preload, entry, `--port=${port}`, "--headless"],
    {},
    dir,
  );
  const url = `http://127.0.0.1:${port}/v1/chat/completions`;
  const headers = {
    Authorization: `Bearer ${secret}`,
    "x-portkey-provider": "openai",
    "x-portkey-custom-host": mockV1Url,
  };
  let last = "no answer";
  try {
    await waitUntil(
      "portkey",
      async () => {
        if (child.proc.exitCode !== null) throw new Error(`exited with ${child.proc.exitCode}`);
        const res = await fetch(url, {
          method: "POST",
          headers: { ...headers, "content-type": "application/json" },
          body: JSON.stringify({ model: "bench-model", messages: [{ role: "user", content: "ready?" }] }),
        });
        last = `HTTP ${res.status}: ${(await res.text()).slice(0, 200)}`;
        return res.status === 200;
      },
      30_000,
    );
  } catch (error) {
    await stop(child);
    throw new Error(
      `${(error as Error).message}; last answer ${last}; log: ${child.tail.slice(-5).join(" | ")}`,
    );
  }
  return { child, url, headers };
}
