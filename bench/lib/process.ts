/**
 * Child processes of a benchmark: started with their output kept (the last
 * lines, for error reports), every one tracked so `stopAll` ends them even
 * when the run fails, and read-outs of their resident memory.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

export interface Child {
  name: string;
  proc: ChildProcess;
  pid: number;
  /** The last 40 lines of stdout and stderr, for reports of a failed start. */
  tail: string[];
}

const children: Child[] = [];

/** Spawns `command args` with only `env` (and PATH) and tracks it until `stopAll`. */
export function spawnTracked(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  cwd?: string,
): Child {
  const proc = spawn(command, args, {
    env: { PATH: process.env.PATH ?? "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
    ...(cwd === undefined ? {} : { cwd }),
  });
  const child: Child = { name, proc, pid: proc.pid ?? -1, tail: [] };
  const keep = (line: string) => {
    child.tail.push(line);
    if (child.tail.length > 40) child.tail.shift();
  };
  createInterface({ input: proc.stdout as NodeJS.ReadableStream }).on("line", keep);
  createInterface({ input: proc.stderr as NodeJS.ReadableStream }).on("line", keep);
  proc.on("error", (error) => keep(`spawn error: ${error.message}`));
  children.push(child);
  return child;
}

/**
 * Spawns a process that logs JSON lines and resolves with the `url` of the
 * first line whose `msg` is `msg`; rejects when it exits first or after `timeoutMs`.
 */
export function spawnUntilListening(
  name: string,
  command: string,
  args: string[],
  env: Record<string, string>,
  msg: string,
  timeoutMs = 30_000,
): Promise<{ url: string; child: Child }> {
  const child = spawnTracked(name, command, args, env);
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`${name}: no "${msg}" within ${timeoutMs} ms`)),
      timeoutMs,
    );
    const onLine = (line: string) => {
      try {
        const parsed = JSON.parse(line) as { msg?: string; url?: string };
        if (parsed.msg === msg && parsed.url) {
          clearTimeout(timer);
          resolve({ url: parsed.url, child });
        }
      } catch {
        // not JSON
      }
    };
    createInterface({ input: child.proc.stdout as NodeJS.ReadableStream }).on("line", onLine);
    createInterface({ input: child.proc.stderr as NodeJS.ReadableStream }).on("line", onLine);
    child.proc.once("exit", (code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited with ${code}: ${child.tail.slice(-5).join(" | ")}`));
    });
  });
}

const exited = (proc: ChildProcess) => proc.exitCode !== null || proc.signalCode !== null;

/** Stops one child: SIGTERM, then SIGKILL after `graceMs`. */
export async function stop(child: Child, graceMs = 3000): Promise<void> {
  if (exited(child.proc)) return;
  const gone = new Promise<void>((resolve) => child.proc.once("exit", () => resolve()));
  child.proc.kill("SIGTERM");
  const timer = setTimeout(() => child.proc.kill("SIGKILL"), graceMs);
  await gone;
  clearTimeout(timer);
}

/** Stops every child started here, latest first. */
export async function stopAll(graceMs = 3000): Promise<void> {
  await Promise.all([...children].reverse().map((c) => stop(c, graceMs)));
  children.length = 0;
}

/** On SIGINT/SIGTERM: stop the children, then exit (the `finally` of a killed run does not run). */
export function stopAllOnSignal(cleanup: () => Promise<void> = async () => {}): void {
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    process.once(signal, () => {
      void Promise.allSettled([stopAll(), cleanup()]).then(() => process.exit(130));
    });
  }
}

/** A free loopback TCP port (free when asked; another process may take it before it is used). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      const port = typeof address === "object" && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Resident set size of a process in bytes (Linux /proc), undefined when it cannot be read. */
export function rssBytes(pid: number): number | undefined {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** CPU time (user + system) a process has used, in seconds (Linux /proc; clock ticks of 10 ms). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // the fields after the command name, which is in parentheses and may hold spaces
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** The pids whose parent is `pid` (Linux /proc): a cluster primary's worker processes. */
export function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, "utf8");
      // pid (comm) state ppid …: comm may hold spaces and parentheses, so read after the last ")"
      const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
      if (ppid === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** Samples the summed RSS of `pids` every `everyMs` until the returned function is called; it gives the peak. */
export function sampleRss(pids: number[], everyMs = 200): () => number | undefined {
  let peak: number | undefined;
  const take = () => {
    const values = pids.map(rssBytes);
    if (values.some((v) => v === undefined)) return;
    const sum = (values as number[]).reduce((a, b) => a + b, 0);
    peak = Math.max(peak ?? 0, sum);
  };
  take();
  const timer = setInterval(take, everyMs);
  return () => {
    clearInterval(timer);
    take();
    return peak;
  };
}

/** Polls `ready` until it holds; throws naming `what` after `timeoutMs`. */
export async function waitUntil(
  what: string,
  ready: () => Promise<boolean>,
  timeoutMs = 20_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await ready().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`${what} not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 200));
  }
}
