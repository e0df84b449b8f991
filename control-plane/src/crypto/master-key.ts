import { randomBytes } from "node:crypto";
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { ConfigError } from "../../../lib/src/env.js";

/** Parses LLM_GATEWAY_MASTER_KEY: 32 bytes as base64 (44 chars) or hex (64 chars). */
export function parseMasterKey(value: string): Buffer {
  const trimmed = value.trim();
  // Node's base64 decoder skips characters it does not know: check the alphabet first.
  const hex = /^[0-9a-fA-F]{64}$/.test(trimmed);
  const base64 = /^[A-Za-z0-9+/]{43}=?$/.test(trimmed) || /^[A-Za-z0-9_-]{43}$/.test(trimmed);
  const key = hex ? Buffer.from(trimmed, "hex") : base64 ? Buffer.from(trimmed, "base64") : Buffer.alloc(0);
  if (key.length !== 32) {
    throw new ConfigError(
      "LLM_GATEWAY_MASTER_KEY must be 32 bytes, base64 or hex encoded (openssl rand -base64 32)",
    );
  }
  return key;
}

/**
 * Parses a comma-separated list of master keys: the first seals new secrets,
 * the others only open (during a rotation). Each key as parseMasterKey.
 */
export function parseMasterKeys(value: string): Buffer[] {
  const keys = value
    .split(",")
    .map((k) => k.trim())
    .filter(Boolean)
    .map(parseMasterKey);
  if (keys.length === 0) throw new ConfigError("LLM_GATEWAY_MASTER_KEY is empty");
  return keys;
}

/**
 * Embedded default only: reads the master key kept in the data directory, or
 * generates it once. Returns whether it was generated so the caller can warn
 * that a key stored beside the data protects nothing against disk theft.
 */
export async function loadOrCreateLocalMasterKey(
  dataDir: string,
): Promise<{ key: Buffer; created: boolean }> {
  const path = join(dataDir, "master.key");
  try {
    return { key: parseMasterKey(await readFile(path, "utf8")), created: false };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== "ENOENT") throw err;
  }
  const key = randomBytes(32);
  await writeFile(path, `${key.toString("base64")}\n`, { mode: 0o600, flag: "wx" });
  return { key, created: true };
}
