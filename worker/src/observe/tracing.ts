import type { TracingConfig } from "../config.js";
import { NO_OBSERVER, type RequestObserver } from "./observer.js";

/** The worker's tracing: its request observer and how to stop it. */
export interface Tracing {
  observer: RequestObserver;
  /** Exports the spans still buffered, then stops; never rejects, gives up after a few seconds. */
  shutdown(): Promise<void>;
}

/** Bounds of the span pipeline: memory held and time spent when the collector is slow or down. */
export const TRACE_EXPORT_LIMITS = {
  /** Spans buffered; more are dropped until the next export. */
  maxQueueSize: 2048,
  maxExportBatchSize: 512,
  scheduledDelayMillis: 5000,
  /** One OTLP request. */
  exportTimeoutMillis: 10_000,
  /** Longest shutdown() waits for the last export. */
  shutdownTimeoutMillis: 5000,
  /** Longest attribute value (a client-chosen model name, say). */
  attributeValueLengthLimit: 256,
} as const;

const OFF: Tracing = { observer: NO_OBSERVER, shutdown: async () => {} };

/**
 * OpenTelemetry traces over OTLP/HTTP (JSON) to `config.endpoint` (see
 * tracing-sdk.ts). Without an endpoint, the no-op observer: tracing costs
 * nothing, and the OpenTelemetry SDK is not even loaded (several MB of
 * memory per worker process).
 */
export async function createTracing(config: TracingConfig): Promise<Tracing> {
  if (config.endpoint === undefined) return OFF;
  const { startSdkTracing } = await import("./tracing-sdk.js");
  return startSdkTracing(config.endpoint, config);
}
