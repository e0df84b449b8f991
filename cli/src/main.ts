#!/usr/bin/env node
import { ConfigError } from "../../lib/src/env.js";

const USAGE = `Usage: llm-gateway <command>

Commands:
  start           control plane + worker in one process (embedded PostgreSQL unless DATABASE_URL is set)
  control-plane   the management API and routing-table source
  worker          the OpenAI-compatible data plane
  migrate         apply database migrations and exit
  rotate-master-key  re-wrap credential data keys with the first key of LLM_GATEWAY_MASTER_KEY
  mock-provider   deterministic OpenAI-compatible upstream for tests and demos (a test tool)

Configuration is read from the environment: see docs/configuration.md.
`;

/**
 * Each command loads only its own modules: a worker process does not carry
 * the control plane, the embedded PostgreSQL or the mock provider in memory.
 */
const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  start: async () => (await import("./commands/start.js")).runStart(),
  "control-plane": async () => (await import("./commands/control-plane.js")).runControlPlane(),
  worker: async () => (await import("./commands/worker.js")).runWorker(),
  migrate: async () => (await import("./commands/migrate.js")).runMigrate(),
  "rotate-master-key": async () => (await import("./commands/rotate-master-key.js")).runRotateMasterKey(),
  "mock-provider": async (argv) =>
    (await import("../../mock-provider/src/command.js")).runMockProviderCommand(argv),
};

const [command = "", ...rest] = process.argv.slice(2);
const run = COMMANDS[command];
if (!run) {
  process.stderr.write(
    command && command !== "help" && command !== "--help"
      ? `unknown command "${command}"\n\n${USAGE}`
      : USAGE,
  );
  process.exitCode = command && command !== "help" && command !== "--help" ? 2 : 0;
} else {
  run(rest).catch((err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`configuration error: ${err.message}\n`);
      process.exit(2);
    }
    process.stderr.write(
      `llm-gateway ${command} failed: ${err instanceof Error ? err.message : String(err)}\n`,
    );
    process.exit(1);
  });
}
