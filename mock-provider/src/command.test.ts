import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "../../lib/src/env.js";
import { parseMockProviderArgs, runMockProviderCommand } from "./command.js";

const dir = mkdtempSync(join(tmpdir(), "mock-faults-"));
let files = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
function rulesFile(json: string): string {
  const file = join(dir, `rules-${++files}.json`);
  writeFileSync(file, json);
  return file;
}

describe("mock-provider command", () => {
  afterEach(() => {
    vi.restoreAllMocks();
    process.exitCode = undefined;
  });

  it("parses every flag", () => {
    expect(
      parseMockProviderArgs([
        "--port=8099",
        "--host",
        "0.0.0.0",
        "--latency-ms",
        "5",
        "--chunks",
        "3",
        "--chunk-interval-ms",
        "7",
        "--error-rate",
        "0.1",
        "--error-status",
        "429",
        "--api-key",
        "sk-x",
        "--api-key=sk-y",
        "--faults",
        rulesFile('[{"match":{"model":"m"},"status":503,"times":2}]'),
      ]),
    ).toEqual({
      host: "0.0.0.0",
      port: 8099,
      latencyMs: 5,
      chunkCount: 3,
      chunkIntervalMs: 7,
      errorRate: 0.1,
      errorStatus: 429,
      apiKeys: ["sk-x", "sk-y"],
      faults: [{ match: { model: "m" }, status: 503, times: 2 }],
    });
  });

  it.each([
    ['[{"status":700}]', '--faults: "FILE": faults[0].status must be an integer between 400 and 599'],
    ["[{", '--faults: "FILE" is not valid JSON'],
  ])("rejects the faults file %s naming the problem", (json, message) => {
    const file = rulesFile(json);
    expect(() => parseMockProviderArgs(["--faults", file])).toThrow(message.replace("FILE", file));
  });

  it("rejects a missing faults file and an empty api key", () => {
    expect(() => parseMockProviderArgs(["--faults", "/nonexistent/rules.json"])).toThrow(
      '--faults: cannot read "/nonexistent/rules.json"',
    );
    expect(() => parseMockProviderArgs(["--api-key", "a", "--api-key", ""])).toThrow(
      "--api-key must not be empty",
    );
  });

  it.each([
    [["--port", "abc"], "--port"],
    [["--chunks", "-1"], "--chunks"],
    [["--error-rate", "1.5"], "--error-rate"],
    [["--error-rate", "often"], "--error-rate"],
    [["--error-status", "200"], "--error-status"],
    [["--bogus"], "--bogus"],
  ])("rejects %j naming %s", (argv, flag) => {
    expect(() => parseMockProviderArgs(argv)).toThrow(ConfigError);
    expect(() => parseMockProviderArgs(argv)).toThrow(flag);
  });

  it("prints the problem and sets exit code 2 on bad flags", async () => {
    const stderr = vi.spyOn(process.stderr, "write").mockImplementation(() => true);
    await runMockProviderCommand(["--latency-ms", "soon"]);
    expect(process.exitCode).toBe(2);
    expect(String(stderr.mock.calls[0]?.[0])).toContain("--latency-ms");
  });
});
