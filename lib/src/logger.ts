import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

/**
 * Paths the logger masks wherever they appear. Secrets are redacted by the
 * logger's configuration so a careless log line cannot leak them.
 */
const REDACT_PATHS = [
  "secret",
  "*.secret",
  "key",
  "*.key",
  "apiKey",
  "*.apiKey",
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  'headers["x-api-key"]',
  "token",
  "*.token",
  "masterKey",
  "*.masterKey",
  "workerToken",
  "*.workerToken",
  "adminKey",
  "*.adminKey",
  "databaseUrl",
  "*.databaseUrl",
  "redisUrl",
  "*.redisUrl",
];

/** Creates the structured JSON logger used by every process (stdout unless a destination is given). */
export function createLogger(
  name: string,
  level = process.env.LOG_LEVEL ?? "info",
  destination?: DestinationStream,
): Logger {
  const options = {
    name,
    level,
    redact: { paths: REDACT_PATHS, censor: "[redacted]" },
    base: { pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
  };
  return destination ? pino(options, destination) : pino(options);
}
