import { type ChildProcess, spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { projectRoot } from "../../lib/src/paths.js";

/** One JSON log line (pino) or a plain output line. */
export type LogLine = Record<string, unknown> & { raw: string };

export interface GatewayProcess {
  proc: ChildProcess;
  lines: LogLine[];
  /** Resolves with the first line (already seen or future) matching `match`. */
  waitFor(match: (line: LogLine) => boolean, timeoutMs?: number, after?: number): Promise<LogLine>;
  /** SIGTERM and wait for exit (SIGKILL after 10 s). */
  stop(): Promise<void>;
}

/** Runs `llm-gateway <command>` from the built dist/ as a separate process. */
export function spawnGateway(args: string[], env: Record<string, string>): GatewayProcess {
  const proc = spawn(process.execPath, [join(projectRoot(), "dist/cli/src/main.js"), ...args], {
    env: { PATH: process.env.PATH ?? "", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: LogLine[] = [];
  const listeners = new Set<() => void>();
  const onLine = (raw: string) => {
    let parsed: Record<string, unknown> = {};
    try {
      parsed = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      // plain output line
    }
    lines.push({ ...parsed, raw });
    for (const l of listeners) l();
  };
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", onLine);
  createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on("line", onLine);

  return {
    proc,
    lines,
    waitFor(match, timeoutMs = 20_000, after = 0) {
      return new Promise((resolve, reject) => {
        const check = () => {
          const found = lines.slice(after).find(match);
          if (found) {
            cleanup();
            resolve(found);
          }
        };
        const onExit = () => {
          cleanup();
          reject(
            new Error(`${args.join(" ")} exited (${proc.exitCode}):\n${lines.map((l) => l.raw).join("\n")}`),
          );
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out waiting on ${args.join(" ")}:\n${lines.map((l) => l.raw).join("\n")}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
          proc.off("exit", onExit);
        };
        listeners.add(check);
        proc.once("exit", onExit);
        check();
      });
    },
    async stop() {
      if (proc.exitCode !== null || proc.signalCode !== null) return;
      const exited = once(proc, "exit");
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await exited;
      clearTimeout(timer);
    },
  };
}
