import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { envHost, envInt, envString, envUrl } from "../../lib/src/env.js";
import { type OidcConfig, oidcConfigFromEnv } from "../../lib/src/oidc.js";

export interface WorkerConfig {
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
  /** OIDC session tokens accepted as the api_key; unset: gateway keys only. */
  oidc: OidcConfig | undefined;
}

/** Parses the worker's environment once; throws ConfigError naming the bad variable. */
export function loadWorkerConfig(env: NodeJS.ProcessEnv = process.env): WorkerConfig {
  return {
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
    oidc: oidcConfigFromEnv(env),
  };
}
