import { afterEach, describe, expect, it, vi } from "vitest";
import { ConfigError } from "../../lib/src/env.js";
import { parseMockProviderArgs, runMockProviderCommand } from "./command.js";

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
      ]),
    ).toEqual({
      host: "0.0.0.0",
      port: 8099,
      latencyMs: 5,
      chunkCount: 3,
      chunkIntervalMs: 7,
      errorRate: 0.1,
      errorStatus: 429,
      apiKey: "sk-x",
    });
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
