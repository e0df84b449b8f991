import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import { ConfigError, envHost, envInt, envOptional, envString } from "../../lib/src/env.js";
import { type OidcConfig, oidcConfigFromEnv } from "../../lib/src/oidc.js";

export interface ControlPlaneConfig {
  host: string;
  port: number;
  /** Unset: embedded PGlite in dataDir. */
  databaseUrl: string | undefined;
  dataDir: string;
  /** Base64/hex master key; unset on the embedded default means "generate and keep in dataDir". */
  masterKey: string | undefined;
  /** Shared secret workers present on the worker-facing RPCs. */
  workerToken: string;
  /** Registered as the platform-admin key at start when set. */
  adminKey: string | undefined;
  heartbeatSeconds: number;
  /** Safety-net version check interval. */
  pollMs: number;
  /** OIDC/JWT sessions for the management API; unset: API keys only. */
  oidc: OidcConfig | undefined;
  /** Redis for the change fan-out between replicas; unset: a single replica (the version poll only). */
  redisUrl: string | undefined;
  /** Pub/sub channel the replicas announce commits on. */
  redisChannel: string;
  /** This replica's id: in fan-out messages and the worker list. */
  replicaId: string;
  /** Minutes between periodic billing syncs (one replica at a time); 0 = off. */
  billingSyncMinutes: number;
}

/** REDIS_URL must be a redis:// or rediss:// URL; the message never repeats the value (it may hold a password). */
function redisUrlFrom(env: NodeJS.ProcessEnv): string | undefined {
  const value = envOptional(env, "REDIS_URL");
  if (value === undefined) return undefined;
  let protocol = "";
  try {
    protocol = new URL(value).protocol;
  } catch {
    // reported below
  }
  if (protocol !== "redis:" && protocol !== "rediss:") {
    throw new ConfigError("REDIS_URL must be a redis:// or rediss:// URL");
  }
  return value;
}

/** Parses the control plane's environment once; throws ConfigError naming the bad variable. */
export function loadControlPlaneConfig(env: NodeJS.ProcessEnv = process.env): ControlPlaneConfig {
  const databaseUrl = envOptional(env, "DATABASE_URL");
  const masterKey = envOptional(env, "LLM_GATEWAY_MASTER_KEY");
  return {
    host: envHost(env, "LLM_GATEWAY_CONTROL_PLANE_HOST"),
    port: envInt(env, "LLM_GATEWAY_CONTROL_PLANE_PORT", 8081, 0, 65535),
    databaseUrl,
    dataDir: envString(env, "LLM_GATEWAY_DATA_DIR", ".data"),
    masterKey,
    workerToken: envString(env, "LLM_GATEWAY_WORKER_TOKEN"),
    adminKey: envOptional(env, "LLM_GATEWAY_ADMIN_KEY"),
    heartbeatSeconds: envInt(env, "LLM_GATEWAY_HEARTBEAT_SECONDS", 15, 1, 3600),
    pollMs: envInt(env, "LLM_GATEWAY_VERSION_POLL_MS", 1000, 50, 60_000),
    oidc: oidcConfigFromEnv(env),
    redisUrl: redisUrlFrom(env),
    redisChannel: envString(env, "LLM_GATEWAY_REDIS_CHANNEL", "llm-gateway:config-changes"),
    replicaId: envString(
      env,
      "LLM_GATEWAY_REPLICA_ID",
      `${hostname()}-${process.pid}-${randomBytes(3).toString("hex")}`,
    ),
    billingSyncMinutes: envInt(env, "LLM_GATEWAY_BILLING_SYNC_MINUTES", 0, 0, 10_080),
  };
}
