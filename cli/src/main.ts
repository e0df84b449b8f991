#!/usr/bin/env node
import { ConfigError } from "../../lib/src/env.js";
import { runMockProviderCommand } from "../../mock-provider/src/command.js";
import { runControlPlane } from "./commands/control-plane.js";
import { runMigrate } from "./commands/migrate.js";
import { runRotateMasterKey } from "./commands/rotate-master-key.js";
import { runStart } from "./commands/start.js";
import { runWorker } from "./commands/worker.js";

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

const COMMANDS: Record<string, (argv: string[]) => Promise<void>> = {
  start: () => runStart(),
  "control-plane": () => runControlPlane(),
  worker: () => runWorker(),
  migrate: () => runMigrate(),
  "rotate-master-key": () => runRotateMasterKey(),
  "mock-provider": (argv) => runMockProviderCommand(argv),
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
