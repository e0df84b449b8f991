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
import { createTraceObserver } from "./trace-observer.js";
import { TRACE_EXPORT_LIMITS, type Tracing } from "./tracing.js";

/**
 * OpenTelemetry traces over OTLP/HTTP (JSON) to `config.endpoint`, sampled
 * at `config.sampleRatio` for new traces (a caller's sampled flag is
 * followed), with service.name `config.serviceName`. The tracer provider is
 * local to the worker: nothing is registered globally.
 */
export function startSdkTracing(endpoint: string, config: TracingConfig): Tracing {
  const limits = TRACE_EXPORT_LIMITS;
  const exporter = new OTLPTraceExporter({ url: endpoint, timeoutMillis: limits.exportTimeoutMillis });
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
