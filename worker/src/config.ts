import { randomBytes } from "node:crypto";
import { availableParallelism, hostname } from "node:os";
import {
  ConfigError,
  envChoice,
  envFloat,
  envHost,
  envInt,
  envOptional,
  envString,
  envUrl,
} from "../../lib/src/env.js";
import { type OidcConfig, oidcConfigFromEnv } from "../../lib/src/oidc.js";
import type { HealthOptions } from "./routing/health.js";
import type { RetryBudgetOptions } from "./routing/retry-budget.js";

/** How the routing engine retries, falls back and gives up. */
export interface RoutingConfig {
  /** No new attempt starts later than this after a request arrived. */
  requestTimeoutMs: number;
  maxAttempts: number;
  sameTargetRetries: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** Longest Retry-After the engine waits out within one request. */
  maxWaitMs: number;
  budget: RetryBudgetOptions;
  health: HealthOptions;
}

export interface WorkerConfig {
  /** Worker processes `llm-gateway worker` runs (node:cluster, one shared port); 1: no cluster. */
  processes: number;
  /**
   * How far (percent) V8 lets the old generation grow past the live heap before a full
   * collection; 0 leaves V8's own heuristics, which let it grow up to several times the live heap
   * (a sawtooth of tens of MB under steady load).
   */
  heapGrowthPercent: number;
  host: string;
  port: number;
  controlPlaneUrl: string;
  workerToken: string;
  workerId: string;
  maxBodyBytes: number;
  upstreamConnections: number;
  upstreamConnectTimeoutMs: number;
  upstreamHeadersTimeoutMs: number;
  upstreamBodyTimeoutMs: number;
  /** How long SIGTERM waits for in-flight requests before exiting. */
  drainTimeoutMs: number;
  /**
   * After SIGTERM, how long the worker keeps accepting connections (answering
   * /readyz 503) so load balancers and Envoy's health checks notice before it
   * stops listening.
   */
  drainDelayMs: number;
  /** OIDC session tokens accepted as the api_key; unset: gateway keys only. */
  oidc: OidcConfig | undefined;
  routing: RoutingConfig;
  /** SSE keepalive: a ping after this much silence; also how long a stream may wait before it is committed. */
  ssePingMs: number;
  /** Usage events held while the control plane is unreachable. */
  usageBufferEvents: number;
  /** Window over which operational events are aggregated into one audit row. */
  operationalEventWindowMs: number;
  /** How often the worker reports its status (also after every routing-table change). */
  statusReportMs: number;
  metrics: MetricsConfig;
  tracing: TracingConfig;
  /** TLS terminated by the worker itself; undefined: plain HTTP (TLS at a proxy such as Envoy, or none). */
  tls: WorkerTlsConfig | undefined;
  /**
   * Take a well-formed incoming `x-request-id` as the request (and usage
   * event) id. Only behind a proxy that replaces the client's header, such as
   * the shipped Envoy config; off by default.
   */
  trustRequestId: boolean;
}

/**
 * PEM files the worker serves HTTPS with (LLM_GATEWAY_TLS_CERT_FILE,
 * LLM_GATEWAY_TLS_KEY_FILE). They are read when the server starts, again on
 * SIGHUP and when either file changes (a renewed certificate, a rotated
 * Kubernetes Secret).
 */
export interface WorkerTlsConfig {
  /** Certificate chain, leaf first. */
  certFile: string;
  /** Private key of the leaf certificate. */
  keyFile: string;
}

/** The request metrics on /metrics/ai-gateway and how many series they may grow to. */
export interface MetricsConfig {
  /** Off: no request metrics at all (a diagnostic switch, for measuring their cost). */
  enabled: boolean;
  /** The `user` label: the user (or API key) id, its hash, or left out. */
  userLabel: "on" | "hashed" | "off";
  /** Distinct user label values per worker; later users are counted as "_other". */
  maxUsers: number;
}

/** OpenTelemetry traces, exported over OTLP/HTTP only when an endpoint is configured. */
export interface TracingConfig {
  /** OTLP traces endpoint, e.g. http://collector:4318/v1/traces; undefined: tracing off. */
  endpoint: string | undefined;
  serviceName: string;
  /** Fraction of requests traced (0..1). */
  sampleRatio: number;
}

function routingConfig(env: NodeJS.ProcessEnv): RoutingConfig {
  return {
    requestTimeoutMs: envInt(env, "LLM_GATEWAY_REQUEST_TIMEOUT_MS", 600_000, 1),
    maxAttempts: envInt(env, "LLM_GATEWAY_MAX_ATTEMPTS", 5, 1, 20),
    sameTargetRetries: envInt(env, "LLM_GATEWAY_SAME_TARGET_RETRIES", 2, 0, 10),
    backoffBaseMs: envInt(env, "LLM_GATEWAY_RETRY_BACKOFF_MS", 100, 0),
    backoffMaxMs: envInt(env, "LLM_GATEWAY_RETRY_BACKOFF_MAX_MS", 2000, 0),
    maxWaitMs: envInt(env, "LLM_GATEWAY_MAX_RETRY_WAIT_MS", 5000, 0),
    budget: {
      ratio: envFloat(env, "LLM_GATEWAY_RETRY_BUDGET_RATIO", 0.2, 0, 10),
      minPerSecond: envFloat(env, "LLM_GATEWAY_RETRY_BUDGET_MIN_PER_SECOND", 10, 0, 100_000),
      max: envInt(env, "LLM_GATEWAY_RETRY_BUDGET_MAX", 100, 1),
    },
    health: {
      consecutiveFailures: envInt(env, "LLM_GATEWAY_CIRCUIT_CONSECUTIVE_FAILURES", 5, 1),
      failureRate: envFloat(env, "LLM_GATEWAY_CIRCUIT_FAILURE_RATE", 0.5, 0.01, 1),
      minRequests: envInt(env, "LLM_GATEWAY_CIRCUIT_MIN_REQUESTS", 20, 1),
      windowMs: envInt(env, "LLM_GATEWAY_CIRCUIT_WINDOW_MS", 10_000, 1000, 600_000),
      openMs: envInt(env, "LLM_GATEWAY_CIRCUIT_OPEN_MS", 5000, 1),
      maxOpenMs: envInt(env, "LLM_GATEWAY_CIRCUIT_MAX_OPEN_MS", 60_000, 1),
      authOpenMs: envInt(env, "LLM_GATEWAY_AUTH_FAILURE_OPEN_MS", 60_000, 1),
      quotaCooldownMs: envInt(env, "LLM_GATEWAY_QUOTA_COOLDOWN_MS", 60_000, 0),
      rateLimitCooldownMs: envInt(env, "LLM_GATEWAY_RATE_LIMIT_COOLDOWN_MS", 1000, 0),
      maxCooldownMs: envInt(env, "LLM_GATEWAY_MAX_COOLDOWN_MS", 300_000, 0),
    },
  };
}

/** The OTLP traces URL: OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces. */
function tracesEndpoint(env: NodeJS.ProcessEnv): string | undefined {
  const traces = envOptional(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  if (traces) return envUrl(env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT");
  const base = envOptional(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  if (!base) return undefined;
  envUrl(env, "OTEL_EXPORTER_OTLP_ENDPOINT");
  return `${base.replace(/\/+$/, "")}/v1/traces`;
}

/** Both TLS variables or neither: one alone is a mistake worth stopping for. */
function tlsConfig(env: NodeJS.ProcessEnv): WorkerTlsConfig | undefined {
  const certFile = envOptional(env, "LLM_GATEWAY_TLS_CERT_FILE");
  const keyFile = envOptional(env, "LLM_GATEWAY_TLS_KEY_FILE");
  if (certFile === undefined && keyFile === undefined) return undefined;
  if (certFile === undefined) {
    throw new ConfigError("LLM_GATEWAY_TLS_CERT_FILE is required when LLM_GATEWAY_TLS_KEY_FILE is set");
  }
  if (keyFile === undefined) {
    throw new ConfigError("LLM_GATEWAY_TLS_KEY_FILE is required when LLM_GATEWAY_TLS_CERT_FILE is set");
  }
  return { certFile, keyFile };
}

/** LLM_GATEWAY_WORKER_PROCESSES: a count, or `auto` for the CPUs this process may run on. */
function workerProcesses(env: NodeJS.ProcessEnv): number {
  if (env.LLM_GATEWAY_WORKER_PROCESSES === "auto") return availableParallelism();
  return envInt(env, "LLM_GATEWAY_WORKER_PROCESSES", 1, 1, 256);
}

/** Parses the worker's environment once; throws ConfigError naming the bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
    processes: workerProcesses(env),
    heapGrowthPercent: envInt(env, "LLM_GATEWAY_WORKER_HEAP_GROWTH_PERCENT", 20, 0, 400),
    host: envHost(env, "LLM_GATEWAY_WORKER_HOST"),
    port: envInt(env, "LLM_GATEWAY_WORKER_PORT", 8080, 0, 65535),
    controlPlaneUrl: envUrl(env, "LLM_GATEWAY_CONTROL_PLANE_URL", "http://127.0.0.1:8081"),
    workerToken: envString(env, "LLM_GATEWAY_WORKER_TOKEN"),
    workerId: envString(
      env,
      "LLM_GATEWAY_WORKER_ID",
      `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    ),
    maxBodyBytes: envInt(env, "LLM_GATEWAY_MAX_BODY_BYTES", 10 * 1024 * 1024, 1024),
    upstreamConnections: envInt(env, "LLM_GATEWAY_UPSTREAM_CONNECTIONS", 256, 1, 100_000),
    upstreamConnectTimeoutMs: envInt(env, "LLM_GATEWAY_UPSTREAM_CONNECT_TIMEOUT_MS", 10_000, 1),
    upstreamHeadersTimeoutMs: envInt(env, "LLM_GATEWAY_UPSTREAM_HEADERS_TIMEOUT_MS", 300_000, 1),
    upstreamBodyTimeoutMs: envInt(env, "LLM_GATEWAY_UPSTREAM_BODY_TIMEOUT_MS", 300_000, 1),
    drainTimeoutMs: envInt(env, "LLM_GATEWAY_DRAIN_TIMEOUT_MS", 30_000, 0),
    drainDelayMs: envInt(env, "LLM_GATEWAY_DRAIN_DELAY_MS", 0, 0, 600_000),
    oidc: oidcConfigFromEnv(env),
    routing: routingConfig(env),
    ssePingMs: envInt(env, "LLM_GATEWAY_SSE_PING_MS", 15_000, 100),
    usageBufferEvents: envInt(env, "LLM_GATEWAY_USAGE_BUFFER_EVENTS", 100_000, 1000),
    operationalEventWindowMs: envInt(env, "LLM_GATEWAY_OPERATIONAL_EVENT_WINDOW_MS", 10_000, 100),
    statusReportMs: envInt(env, "LLM_GATEWAY_STATUS_REPORT_MS", 10_000, 100),
    metrics: {
      enabled: envString(env, "LLM_GATEWAY_METRICS", "on") !== "off",
      userLabel: envChoice(env, "LLM_GATEWAY_METRICS_USER_LABEL", ["hashed", "on", "off"]),
      maxUsers: envInt(env, "LLM_GATEWAY_METRICS_MAX_USERS", 1000, 0, 1_000_000),
    },
    tracing: {
      endpoint: tracesEndpoint(env),
      serviceName: envString(env, "OTEL_SERVICE_NAME", "llm-gateway-worker"),
      sampleRatio: envFloat(env, "LLM_GATEWAY_TRACE_SAMPLE_RATIO", 1, 0, 1),
    },
    tls: tlsConfig(env),
    trustRequestId: envChoice(env, "LLM_GATEWAY_TRUST_REQUEST_ID", ["false", "true"]) === "true",
  };
}
