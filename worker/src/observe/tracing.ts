import type { TracingConfig } from "../config.js";
import { NO_OBSERVER, type RequestObserver } from "./observer.js";

/** OpenTelemetry traces over OTLP/HTTP when configured: being written for issue 6. */
export function createTracing(_config: TracingConfig): {
  observer: RequestObserver;
  shutdown(): Promise<void>;
} {
  return { observer: NO_OBSERVER, shutdown: async () => {} };
}
