import { execFileSync, spawnSync } from "node:child_process";
import {
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
} from "node:fs";
import { builtinModules } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { loadControlPlaneConfig } from "../../control-plane/src/config.js";
import { projectRoot } from "../../lib/src/paths.js";
import { loadWorkerConfig } from "../../worker/src/config.js";
import { MALLOC_ENV, NODE_FLAGS } from "../../worker/src/heap.js";
import { CHART_DIR, chartValues } from "./lib/chart.js";
import { execForm, ignored, parseCopy, parseDockerfile, type Stage } from "./lib/dockerfile.js";

/**
 * The Dockerfile, checked without a Docker engine (none on these machines):
 * its structure against the repository, and its build stage replayed on a copy
 * of exactly the files it COPYs.
 */
const root = projectRoot();
const dockerfile = parseDockerfile(readFileSync(join(root, "Dockerfile"), "utf8"));
const dockerignore = readFileSync(join(root, ".dockerignore"), "utf8");
const pkg = JSON.parse(readFileSync(join(root, "package.json"), "utf8")) as {
  bin: Record<string, string>;
  dependencies: Record<string, string>;
  scripts: Record<string, string>;
};
const stage = (name: string): Stage => {
  const s = dockerfile.stages.find((x) => x.name === name);
  if (!s) throw new Error(`no stage ${name}`);
  return s;
};
const ops = (s: Stage, op: string) => s.instructions.filter((i) => i.op === op);
const workdir = (s: Stage) => ops(s, "WORKDIR").at(-1)?.args ?? "/";
const runtime = dockerfile.stages.at(-1) as Stage;

/** Files the build context holds under `source` (what COPY sees). */
function contextFiles(source: string): string[] {
  const abs = join(root, source);
  const all: string[] = [];
  const walk = (p: string) => {
    if (statSync(p).isDirectory()) for (const e of readdirSync(p)) walk(join(p, e));
    else all.push(relative(root, p));
  };
  walk(abs);
  return all.filter((f) => !ignored(dockerignore, f));
}

describe("Dockerfile", () => {
  it("builds every stage from Node 24, and runs as a numeric non-root user (the chart's runAsUser)", () => {
    expect(dockerfile.stages.map((s) => s.name)).toEqual(["build", "prod-deps", "runtime"]);
    for (const s of dockerfile.stages) expect(s.image).toMatch(/^node:24(-|$)/);
    const user = ops(runtime, "USER").at(-1)?.args ?? "";
    expect(user).toMatch(/^[1-9]\d*:\d+$/);
    const chartHelpers = readFileSync(join(CHART_DIR, "templates", "_helpers.tpl"), "utf8");
    expect(chartHelpers).toContain(`runAsUser: ${user.split(":")[0]}`);
  });

  it("COPYs only sources that exist and that .dockerignore lets into the context", () => {
    const copies = dockerfile.stages.flatMap((s) => ops(s, "COPY").map((i) => parseCopy(i.args)));
    const local = copies.filter((c) => c.from === undefined).flatMap((c) => c.sources);
    expect(local.length).toBeGreaterThan(5);
    for (const source of local) {
      expect(existsSync(join(root, source)), source).toBe(true);
      expect(contextFiles(source).length, `${source} is empty in the build context`).toBeGreaterThan(0);
    }
    // Local state never enters the context.
    for (const secret of [".data/master.key", ".env", "node_modules/x/index.js", "dist/cli/src/main.js"]) {
      expect(ignored(dockerignore, secret), secret).toBe(true);
    }
    expect(ignored(dockerignore, "worker/src/http/server.test.ts")).toBe(true);
    expect(ignored(dockerignore, "worker/src/http/server.ts")).toBe(false);
  });

  it("copies between stages only what those stages produce (dist/ from tsc, node_modules from npm ci)", () => {
    const tsconfig = JSON.parse(readFileSync(join(root, "tsconfig.json"), "utf8")) as {
      compilerOptions: { outDir: string };
    };
    const produced: Record<string, string[]> = {
      build: [join(workdir(stage("build")), tsconfig.compilerOptions.outDir)],
      "prod-deps": [join(workdir(stage("prod-deps")), "node_modules")],
    };
    expect(ops(stage("build"), "RUN").map((r) => r.args)).toContain(
      "npm run build && chmod 0755 dist/cli/src/main.js",
    );
    expect(ops(stage("prod-deps"), "RUN")[0]?.args).toMatch(/^npm ci --omit=dev /);
    for (const c of ops(runtime, "COPY").map((i) => parseCopy(i.args))) {
      if (c.from === undefined) continue;
      for (const s of c.sources) expect(produced[c.from], `${c.from}:${s}`).toContain(s);
    }
  });

  it("enters through the package's bin, so `docker run IMAGE control-plane|worker|migrate|start` works", () => {
    const bin = pkg.bin["llm-gateway"] as string;
    const link = ops(runtime, "RUN").find((r) => r.args.includes("ln -s"))?.args ?? "";
    expect(link).toContain(`ln -s ${join(workdir(runtime), bin)} /usr/local/bin/llm-gateway`);
    expect(ops(stage("build"), "RUN").some((r) => r.args.includes(`chmod 0755 ${bin}`))).toBe(true);
    expect(readFileSync(join(root, "cli/src/main.ts"), "utf8").startsWith("#!/usr/bin/env node\n")).toBe(
      true,
    );
    const entrypoint = execForm(ops(runtime, "ENTRYPOINT").at(-1)?.args ?? "");
    // node with the gateway's V8 flags, then the bin the link above points to
    expect(entrypoint).toEqual(["/usr/bin/tini", "--", "node", ...NODE_FLAGS, join(workdir(runtime), bin)]);
    expect(execForm(ops(runtime, "CMD").at(-1)?.args ?? "")).toEqual(["start"]);
    const main = readFileSync(join(root, "cli/src/main.ts"), "utf8");
    for (const command of ["start", "control-plane", "worker", "migrate"])
      expect(main).toMatch(new RegExp(`"?${command}"?: `));
  });

  it("runs every process with the gateway's malloc settings (worker/src/heap.ts)", () => {
    const env = ops(runtime, "ENV").flatMap((i) => i.args.split(/\s+/));
    for (const [k, v] of Object.entries(MALLOC_ENV)) expect(env).toContain(`${k}=${v}`);
  });

  it("`npm start` runs node with the gateway's V8 flags, as the image does", () => {
    expect(pkg.scripts.start).toContain(`node ${NODE_FLAGS.join(" ")} dist/cli/src/main.js start`);
  });

  it("exposes the default worker and control-plane ports; runtime files the code reads are present", () => {
    const worker = loadWorkerConfig({ LLM_GATEWAY_WORKER_TOKEN: "t" }).port;
    const cp = loadControlPlaneConfig({ LLM_GATEWAY_WORKER_TOKEN: "t" }).port;
    expect(ops(runtime, "EXPOSE")[0]?.args).toBe(`${worker} ${cp}`);
    const values = chartValues() as { worker: { port: number }; controlPlane: { port: number } };
    expect([values.worker.port, values.controlPlane.port]).toEqual([worker, cp]);
    const copied = ops(runtime, "COPY").flatMap((i) => parseCopy(i.args).sources);
    // projectRoot() looks for package.json; migrate.ts reads <root>/control-plane/migrations.
    expect(copied).toEqual(expect.arrayContaining(["package.json", "control-plane/migrations"]));
  });
});

describe("Dockerfile build stage, replayed without Docker", () => {
  const scratch = mkdtempSync(join(tmpdir(), "llmgw-image-"));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it("compiles from exactly the COPYed files, needs only production dependencies, and migrates from the runtime layout", () => {
    const build = join(scratch, "build");
    for (const c of ops(stage("build"), "COPY").map((i) => parseCopy(i.args))) {
      for (const source of c.sources) {
        for (const file of contextFiles(source)) {
          mkdirSync(dirname(join(build, file)), { recursive: true });
          cpSync(join(root, file), join(build, file));
        }
      }
    }
    symlinkSync(join(root, "node_modules"), join(build, "node_modules"));
    // `npm run build` is `tsc -p tsconfig.json`.
    const tsc = spawnSync(
      process.execPath,
      [join(root, "node_modules/typescript/bin/tsc"), "-p", "tsconfig.json"],
      {
        cwd: build,
        encoding: "utf8",
      },
    );
    expect(tsc.stdout + tsc.stderr).toBe("");
    expect(tsc.status).toBe(0);
    const bin = join(build, pkg.bin["llm-gateway"] as string);
    expect(existsSync(bin)).toBe(true);

    // Every package the compiled code imports is a production dependency (the runtime has no others).
    const imports = new Set<string>();
    const walk = (p: string) => {
      if (statSync(p).isDirectory()) {
        for (const e of readdirSync(p)) walk(join(p, e));
        return;
      }
      if (!p.endsWith(".js")) return;
      const specifiers =
        /(?:^|[\s;])(?:import|export)[^"'`;]*?from\s*"((?:@[\w.-]+\/)?[\w.-]+[\w./-]*)"|import\(\s*"([\w@][\w./@-]*)"\s*\)/gm;
      for (const m of readFileSync(p, "utf8").matchAll(specifiers)) {
        const spec = (m[1] ?? m[2]) as string;
        if (spec.startsWith(".") || spec.startsWith("node:") || builtinModules.includes(spec)) continue;
        imports.add(
          spec.startsWith("@") ? spec.split("/").slice(0, 2).join("/") : (spec.split("/")[0] as string),
        );
      }
    };
    walk(join(build, "dist"));
    expect([...imports].filter((p) => !Object.hasOwn(pkg.dependencies, p))).toEqual([]);

    // The runtime image's layout: package.json, dist/, control-plane/migrations, node_modules.
    const app = join(scratch, "app");
    mkdirSync(app);
    cpSync(join(root, "package.json"), join(app, "package.json"));
    cpSync(join(build, "dist"), join(app, "dist"), { recursive: true });
    cpSync(join(root, "control-plane/migrations"), join(app, "control-plane/migrations"), {
      recursive: true,
    });
    symlinkSync(join(root, "node_modules"), join(app, "node_modules"));
    const out = execFileSync(process.execPath, [join(app, pkg.bin["llm-gateway"] as string), "migrate"], {
      cwd: scratch,
      env: { PATH: process.env.PATH ?? "", LLM_GATEWAY_DATA_DIR: join(scratch, "data"), LOG_LEVEL: "info" },
      encoding: "utf8",
    });
    expect(out).toMatch(/"msg":"migrations applied"/);
  }, 180_000);
});
