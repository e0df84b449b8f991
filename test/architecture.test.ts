import { readdirSync, readFileSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../lib/src/paths.js";

const root = projectRoot();

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

const importsOf = (file: string) =>
  [...readFileSync(join(root, file), "utf8").matchAll(/from\s+"([^"]+)"/g)].map((m) => m[1] as string);

/** The boundaries ARCHITECTURE.md draws, checked on every import. */
describe("architecture boundaries", () => {
  it("the worker never imports control-plane code or the database driver", () => {
    const offenders = sources("worker/src").flatMap((f) =>
      importsOf(f)
        .filter((i) => i.includes("control-plane/") || i === "pg" || i.startsWith("@electric-sql/"))
        .map((i) => `${f} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it("the control plane never imports worker code", () => {
    const offenders = sources("control-plane/src").flatMap((f) =>
      importsOf(f)
        .filter((i) => i.includes("worker/"))
        .map((i) => `${f} -> ${i}`),
    );
    expect(offenders).toEqual([]);
  });

  it("core worker code never branches on a provider id", () => {
    const core = sources("worker/src").filter((f) => !relative("worker/src", f).startsWith("providers"));
    const offenders = core.filter((f) =>
      /provider(\.id)?\s*===?\s*"/.test(readFileSync(join(root, f), "utf8")),
    );
    expect(offenders).toEqual([]);
  });
});
