import type { Logger } from "../../lib/src/logger.js";

/** Runs `close` once on SIGINT/SIGTERM (or `signals`), then exits; a second signal exits at once. */
export function closeOnSignal(
  log: Logger,
  close: () => Promise<void>,
  signals: readonly NodeJS.Signals[] = ["SIGINT", "SIGTERM"],
): void {
  let closing = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (closing) process.exit(1);
    closing = true;
    log.info({ signal }, "shutting down");
    close().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, "shutdown failed");
        process.exit(1);
      },
    );
  };
  for (const signal of signals) process.once(signal, onSignal);
}

/** Shows a secret once, on the terminal only (stdout), never through the logger. */
export function printOnce(title: string, lines: string[]): void {
  const body = [title, ...lines].join("\n  ");
  process.stdout.write(
    `\n============================================================\n  ${body}\n============================================================\n\n`,
  );
}
