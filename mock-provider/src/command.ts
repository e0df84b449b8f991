/**
 * `mock-provider` command: starts the deterministic OpenAI-compatible test
 * upstream from flags, logs its URL once, and stops on SIGINT/SIGTERM.
 */
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { ConfigError, envInt, envOptional } from "../../lib/src/env.js";
import { createLogger } from "../../lib/src/logger.js";
import { type FaultRule, validateFaults } from "./faults.js";
import { LIMITS } from "./plan.js";
import { type MockProviderOptions, startMockProvider } from "./server.js";

export const MOCK_PROVIDER_USAGE = `Usage: mock-provider [flags]

Deterministic OpenAI-compatible upstream for tests, demos and benchmarks (a test tool, not a provider).

Flags:
  --port <n>               port to bind (default 0: any free port)
  --host <addr>            address to bind (default 127.0.0.1)
  --latency-ms <n>         delay before response headers (default 0)
  --chunks <n>             content chunks per reply (default 8)
  --chunk-interval-ms <n>  gap between streamed chunks (default 0)
  --error-rate <0..1>      fraction of chat/embeddings requests that fail, spread evenly (default 0)
  --error-status <n>       status for --error-rate failures, 400..599 (default 500)
  --api-key <key>          require "Authorization: Bearer <key>"; repeat to accept several keys
  --faults <file>          initial fault rules: a JSON array (see README; change at runtime via /__mock/faults)
  -h, --help               show this help
`;

const FLAGS = {
  port: { type: "string" },
  host: { type: "string" },
  "latency-ms": { type: "string" },
  chunks: { type: "string" },
  "chunk-interval-ms": { type: "string" },
  "error-rate": { type: "string" },
  "error-status": { type: "string" },
  "api-key": { type: "string", multiple: true },
  faults: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses flags into server options; throws ConfigError naming the bad flag. */
export function parseMockProviderArgs(argv: string[]): MockProviderOptions | "help" {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options: FLAGS, strict: true, allowPositionals: false }).values;
  } catch (error) {
    throw new ConfigError((error as Error).message);
  }
  if (values.help === true) return "help";
  // Key the string values by their flag spelling so env.ts messages name the flag.
  const flags: Record<string, string | undefined> = {};
  for (const [name, value] of Object.entries(values)) {
    if (typeof value === "string") flags[`--${name}`] = value;
  }
  const errorRateRaw = envOptional(flags, "--error-rate");
  const errorRate = errorRateRaw === undefined ? 0 : Number(errorRateRaw);
  if (errorRateRaw !== undefined && (errorRateRaw.trim() === "" || !(errorRate >= 0 && errorRate <= 1))) {
    throw new ConfigError(`--error-rate must be a number between 0 and 1, got "${errorRateRaw}"`);
  }
  const apiKeys = values["api-key"];
  if (Array.isArray(apiKeys) && apiKeys.includes("")) throw new ConfigError("--api-key must not be empty");
  if (flags["--host"] === "") throw new ConfigError("--host must not be empty");
  return {
    host: envOptional(flags, "--host"),
    port: envInt(flags, "--port", 0, 0, 65_535),
    latencyMs: envInt(flags, "--latency-ms", 0, 0, LIMITS.latencyMs),
    chunkCount: envInt(flags, "--chunks", 8, 0, LIMITS.chunkCount),
    chunkIntervalMs: envInt(flags, "--chunk-interval-ms", 0, 0, LIMITS.chunkIntervalMs),
    errorRate,
    errorStatus: envInt(flags, "--error-status", 500, 400, 599),
    apiKeys: Array.isArray(apiKeys) ? apiKeys : undefined,
    faults: flags["--faults"] === undefined ? undefined : readFaults(flags["--faults"]),
  };
}

/** Reads and validates a `--faults` file; throws ConfigError naming the flag and the problem. */
export function readFaults(path: string): FaultRule[] {
  if (path === "") throw new ConfigError("--faults must not be empty");
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new ConfigError(`--faults: cannot read "${path}": ${(error as Error).message}`);
  }
  let input: unknown;
  try {
    input = JSON.parse(text);
  } catch (error) {
    throw new ConfigError(`--faults: "${path}" is not valid JSON: ${(error as Error).message}`);
  }
  try {
    return validateFaults(input);
  } catch (error) {
    if (!(error instanceof TypeError || error instanceof RangeError)) throw error;
    throw new ConfigError(`--faults: "${path}": ${error.message}`);
  }
}

/**
 * Runs the mock provider until SIGINT/SIGTERM, then resolves once it has
 * closed. Bad flags print a message naming the flag and set exit code 2.
 */
export async function runMockProviderCommand(argv: string[]): Promise<void> {
  let options: MockProviderOptions | "help";
  try {
    options = parseMockProviderArgs(argv);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`mock-provider: ${error.message}\n\n${MOCK_PROVIDER_USAGE}`);
    process.exitCode = 2;
    return;
  }
  if (options === "help") {
    process.stdout.write(MOCK_PROVIDER_USAGE);
    return;
  }
  const logger = createLogger("mock-provider");
  const provider = await startMockProvider(options);
  logger.info(
    {
      url: provider.url,
      latencyMs: options.latencyMs,
      chunkCount: options.chunkCount,
      chunkIntervalMs: options.chunkIntervalMs,
      errorRate: options.errorRate,
      errorStatus: options.errorStatus,
      apiKeys: options.apiKeys?.length ?? 0,
      faultRules: options.faults?.length ?? 0,
    },
    "mock provider listening",
  );
  await new Promise<void>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      process.off("SIGINT", stop);
      process.off("SIGTERM", stop);
      logger.info({ signal }, "mock provider stopping");
      provider.close().then(resolve, (error: unknown) => {
        logger.error({ err: error }, "mock provider close failed");
        process.exitCode = 1;
        resolve();
      });
    };
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}
