import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { defaultResource, resourceFromAttributes } from "@opentelemetry/resources";
import {
  BasicTracerProvider,
  BatchSpanProcessor,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
} from "@opentelemetry/sdk-trace-base";
import { ATTR_SERVICE_NAME } from "@opentelemetry/semantic-conventions";
import type { TracingConfig } from "../config.js";
import { NO_OBSERVER, type RequestObserver } from "./observer.js";
import { createTraceObserver } from "./trace-observer.js";

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
 * OpenTelemetry traces over OTLP/HTTP (JSON) to `config.endpoint`, sampled
 * at `config.sampleRatio` for new traces (a caller's sampled flag is
 * followed), with service.name `config.serviceName`. The tracer provider is
 * local to the worker: nothing is registered globally. Without an endpoint,
 * the no-op observer: tracing costs nothing.
 */
export function createTracing(config: TracingConfig): Tracing {
  if (config.endpoint === undefined) return OFF;
  const limits = TRACE_EXPORT_LIMITS;
  const exporter = new OTLPTraceExporter({ url: config.endpoint, timeoutMillis: limits.exportTimeoutMillis });
  const provider = new BasicTracerProvider({
    resource: defaultResource().merge(resourceFromAttributes({ [ATTR_SERVICE_NAME]: config.serviceName })),
    sampler: new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(config.sampleRatio) }),
    spanLimits: { attributeValueLengthLimit: limits.attributeValueLengthLimit },
    spanProcessors: [
      new BatchSpanProcessor(exporter, {
        maxQueueSize: limits.maxQueueSize,
        maxExportBatchSize: limits.maxExportBatchSize,
        scheduledDelayMillis: limits.scheduledDelayMillis,
        exportTimeoutMillis: limits.exportTimeoutMillis,
      }),
    ],
  });
  const observer = createTraceObserver(provider.getTracer("llm-gateway-worker"));
  let stopped: Promise<void> | undefined;
  return {
    observer,
    shutdown() {
      stopped ??= new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, limits.shutdownTimeoutMillis);
        timer.unref();
        provider
          .shutdown()
          .catch(() => {})
          .finally(() => {
            clearTimeout(timer);
            resolve();
          });
      });
      return stopped;
    },
  };
}
