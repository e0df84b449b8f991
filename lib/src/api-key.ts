import { createHash, randomBytes } from "node:crypto";

/** Every gateway key starts with this, so secret scanners can recognise it. */
export const API_KEY_PREFIX = "lgw_";

/** Metrics scrape tokens start with this. */
export const METRICS_TOKEN_PREFIX = "lgm_";

/** A new random key: prefix + 43 base64url characters (256 bits). */
export function generateApiKey(): string {
  return API_KEY_PREFIX + randomBytes(32).toString("base64url");
}

/** A new metrics scrape token, same strength as a key. */
export function generateMetricsToken(): string {
  return METRICS_TOKEN_PREFIX + randomBytes(32).toString("base64url");
}

/**
 * Keys are 256-bit random strings, so one SHA-256 is a safe and fast lookup
 * hash (no password stretching needed). Workers and the control plane hash
 * the same way.
 */
export function hashApiKey(key: string): Buffer {
  return createHash("sha256").update(key).digest();
}

/** The part of a key or token shown in lists. */
export function displayPrefix(key: string): string {
  return key.slice(0, API_KEY_PREFIX.length + 6);
}
