import { execFileSync } from "node:child_process";
import { describe, expect, it } from "vitest";
import { loadWorkerConfig } from "./config.js";
import { applyHeapGrowth, MALLOC_ENV, mallocDefaults, NODE_FLAGS, withNodeFlags } from "./heap.js";

const env = { LLM_GATEWAY_WORKER_TOKEN: "t" };

describe("heap growth bound", () => {
  it("defaults to 20 % and is configurable; 0 turns it off", () => {
    expect(loadWorkerConfig(env).heapGrowthPercent).toBe(20);
    expect(loadWorkerConfig({ ...env, LLM_GATEWAY_WORKER_HEAP_GROWTH_PERCENT: "0" }).heapGrowthPercent).toBe(
      0,
    );
    expect(loadWorkerConfig({ ...env, LLM_GATEWAY_WORKER_HEAP_GROWTH_PERCENT: "35" }).heapGrowthPercent).toBe(
      35,
    );
    expect(() => loadWorkerConfig({ ...env, LLM_GATEWAY_WORKER_HEAP_GROWTH_PERCENT: "-1" })).toThrow(
      /LLM_GATEWAY_WORKER_HEAP_GROWTH_PERCENT/,
    );
  });

  it("fills in the malloc settings an operator did not set, and keeps theirs", () => {
    expect(mallocDefaults({})).toEqual(MALLOC_ENV);
    expect(mallocDefaults({ MALLOC_ARENA_MAX: "8" })).toEqual({});
  });

  it("adds the V8 flags a process's command line lacks, and keeps an operator's own setting", () => {
    expect(NODE_FLAGS).toEqual(["--no-memory-reducer"]);
    expect(withNodeFlags([])).toEqual(["--no-memory-reducer"]);
    expect(withNodeFlags(["--import", "x.js"])).toEqual(["--import", "x.js", "--no-memory-reducer"]);
    expect(withNodeFlags(["--no-memory-reducer"])).toEqual(["--no-memory-reducer"]);
    expect(withNodeFlags(["--memory-reducer"])).toEqual(["--memory-reducer"]);
  });

  it("sets V8's heap growing percent, and nothing when 0", () => {
    const set: string[] = [];
    expect(applyHeapGrowth(20, (f) => set.push(f))).toBe(true);
    expect(applyHeapGrowth(0, (f) => set.push(f))).toBe(false);
    expect(set).toEqual(["--heap-growing-percent=20"]);
  });

  it("bounds the old generation on this Node: a churning live set peaks well lower", () => {
    // A live set of ~60 MB whose members are replaced all the time: they survive scavenges, are
    // promoted and die in the old generation, as a busy server's in-flight state does.
    const child = `
      const v8 = require("node:v8");
      if (process.argv[1]) v8.setFlagsFromString(process.argv[1]);
      const ring = new Array(300000);
      let peak = 0;
      for (let i = 0; i < 3_000_000; i++) {
        ring[i % ring.length] = { i, s: "x" + i, a: [i, i + 1, i + 2] };
        if ((i & 4095) === 0) {
          const old = v8.getHeapSpaceStatistics().find((s) => s.space_name === "old_space");
          peak = Math.max(peak, old.space_size);
        }
      }
      console.log(peak);`;
    const peak = (flag: string) =>
      Number(execFileSync(process.execPath, ["-e", child, flag], { encoding: "utf8", timeout: 60_000 }));
    let flag = "";
    applyHeapGrowth(20, (f) => {
      flag = f;
    });
    const bounded = peak(flag);
    const unbounded = peak("");
    expect(bounded).toBeLessThan(unbounded * 0.8);
  }, 90_000);
});
