/**
 * Small, dependency-free environment parsing: every variable is read and
 * validated once at start, and a bad value fails with a message that names it.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
}

type Env = Record<string, string | undefined>;

export function envString(env: Env, name: string, fallback?: string): string {
  const value = env[name];
  if (value === undefined || value === "") {
    if (fallback === undefined) throw new ConfigError(`${name} is required`);
    return fallback;
  }
  return value;
}

export function envOptional(env: Env, name: string): string | undefined {
  const value = env[name];
  return value === undefined || value === "" ? undefined : value;
}

export function envInt(
  env: Env,
  name: string,
  fallback: number,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be an integer between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

export function envUrl(env: Env, name: string, fallback?: string): string {
  const value = envString(env, name, fallback);
  try {
    new URL(value);
  } catch {
    throw new ConfigError(`${name} must be a URL`);
  }
  return value;
}

/** Host to bind: loopback unless the operator says otherwise. */
export function envHost(env: Env, name: string): string {
  return envString(env, name, "127.0.0.1");
}

export function envFloat(env: Env, name: string, fallback: number, min: number, max: number): number {
  const raw = env[name];
  if (raw === undefined || raw === "") return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new ConfigError(`${name} must be a number between ${min} and ${max}, got "${raw}"`);
  }
  return value;
}

/** One of a fixed set of values; the first is the default. */
export function envChoice<T extends string>(env: Env, name: string, choices: readonly [T, ...T[]]): T {
  const raw = env[name];
  if (raw === undefined || raw === "") return choices[0];
  if (!(choices as readonly string[]).includes(raw)) {
    throw new ConfigError(`${name} must be one of ${choices.join(", ")}, got "${raw}"`);
  }
  return raw as T;
}
