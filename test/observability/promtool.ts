import { execFile } from "node:child_process";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import { promisify } from "node:util";
import { projectRoot } from "../../lib/src/paths.js";

const run = promisify(execFile);

/** promtool from $PROMTOOL or the PATH (Debian's `prometheus` package installs /usr/bin/promtool). */
export function findPromtool(): string | undefined {
  const candidates = [
    process.env.PROMTOOL,
    ...(process.env.PATH ?? "").split(delimiter).map((dir) => join(dir, "promtool")),
  ];
  return candidates.find((path): path is string => {
    if (!path) return false;
    try {
      accessSync(path, constants.X_OK);
      return true;
    } catch {
      return false;
    }
  });
}

/** In CI a missing promtool is a failure, not a skip: .ci/run installs it. */
export const PROMTOOL_REQUIRED = process.env.CI === "true";

/** The outcome of one promtool call. */
export interface PromtoolResult {
  ok: boolean;
  output: string;
}

/** Runs promtool with `args` from the repository root; never throws on a non-zero exit. */
export async function promtool(args: readonly string[]): Promise<PromtoolResult> {
  const binary = findPromtool();
  if (!binary) {
    throw new Error("promtool not found: install Debian's prometheus package (apt-get install prometheus)");
  }
  try {
    const { stdout, stderr } = await run(binary, args, { cwd: projectRoot(), maxBuffer: 16 * 1024 * 1024 });
    return { ok: true, output: stdout + stderr };
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string };
    return { ok: false, output: `${e.stdout ?? ""}${e.stderr ?? ""}` || e.message };
  }
}
