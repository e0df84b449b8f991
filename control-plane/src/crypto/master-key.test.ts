import { randomBytes } from "node:crypto";
import { mkdtemp, readFile, rm, stat, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { ConfigError } from "../../../lib/src/env.js";
import { loadOrCreateLocalMasterKey, parseMasterKey } from "./master-key.js";

const KEY = Buffer.from(Array.from({ length: 32 }, (_, i) => i * 7 + 3));

describe("parseMasterKey", () => {
  it.each([
    ["base64", KEY.toString("base64")],
    ["base64 with surrounding whitespace", `  ${KEY.toString("base64")}\n`],
    ["lowercase hex", KEY.toString("hex")],
    ["uppercase hex", KEY.toString("hex").toUpperCase()],
    ["hex with a trailing newline", `${KEY.toString("hex")}\n`],
  ])("accepts 32 bytes as %s", (_name, value) => {
    const parsed = parseMasterKey(value);
    expect(parsed.length).toBe(32);
    expect(parsed.equals(KEY)).toBe(true);
  });

  it("decodes a 64-character hex string as hex, not base64", () => {
    // Every hex digit is also a base64 character: 64 of them would be 48 bytes as base64.
    const hex = "ab".repeat(32);
    expect(parseMasterKey(hex).equals(Buffer.alloc(32, 0xab))).toBe(true);
  });

  it.each([
    ["empty", ""],
    ["whitespace", "   "],
    ["16 bytes base64", randomBytes(16).toString("base64")],
    ["31 bytes base64", randomBytes(31).toString("base64")],
    ["33 bytes base64", randomBytes(33).toString("base64")],
    ["64 bytes base64", randomBytes(64).toString("base64")],
    ["31 bytes hex", randomBytes(31).toString("hex")],
    ["33 bytes hex", randomBytes(33).toString("hex")],
    ["0x-prefixed hex", `0x${KEY.toString("hex")}`],
    ["a passphrase", "correct horse battery staple"],
  ])("rejects %s with a ConfigError naming LLM_GATEWAY_MASTER_KEY", (_name, value) => {
    let thrown: unknown;
    try {
      parseMasterKey(value);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConfigError);
    expect((thrown as Error).message).toContain("LLM_GATEWAY_MASTER_KEY");
  });
});

describe("loadOrCreateLocalMasterKey", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "llm-gateway-master-key-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("creates the key once with mode 0600, then reads the same key back", async () => {
    const first = await loadOrCreateLocalMasterKey(dir);
    expect(first.created).toBe(true);
    expect(first.key.length).toBe(32);

    const path = join(dir, "master.key");
    const info = await stat(path);
    if (process.platform !== "win32") expect(info.mode & 0o777).toBe(0o600);
    expect((await readFile(path, "utf8")).trim()).toBe(first.key.toString("base64"));

    const second = await loadOrCreateLocalMasterKey(dir);
    expect(second.created).toBe(false);
    expect(second.key.equals(first.key)).toBe(true);

    const third = await loadOrCreateLocalMasterKey(dir);
    expect(third.created).toBe(false);
    expect(third.key.equals(first.key)).toBe(true);
  });

  it("creates a different key in a different directory", async () => {
    const other = await mkdtemp(join(tmpdir(), "llm-gateway-master-key-"));
    try {
      const a = await loadOrCreateLocalMasterKey(dir);
      const b = await loadOrCreateLocalMasterKey(other);
      expect(a.key.equals(b.key)).toBe(false);
    } finally {
      await rm(other, { recursive: true, force: true });
    }
  });

  it.each([
    ["base64", KEY.toString("base64")],
    ["hex", KEY.toString("hex")],
  ])("reads an existing %s key file without replacing it", async (_name, content) => {
    const path = join(dir, "master.key");
    await writeFile(path, `${content}\n`, { mode: 0o600 });
    const loaded = await loadOrCreateLocalMasterKey(dir);
    expect(loaded).toEqual({ key: KEY, created: false });
    expect(await readFile(path, "utf8")).toBe(`${content}\n`);
  });

  it("fails on a corrupt key file instead of overwriting it", async () => {
    const path = join(dir, "master.key");
    await writeFile(path, "not a key\n");
    await expect(loadOrCreateLocalMasterKey(dir)).rejects.toBeInstanceOf(ConfigError);
    expect(await readFile(path, "utf8")).toBe("not a key\n");
  });

  it("propagates errors other than a missing file", async () => {
    await expect(loadOrCreateLocalMasterKey(join(dir, "missing-dir"))).rejects.toMatchObject({
      code: "ENOENT",
    });
    const notADir = join(dir, "file");
    await writeFile(notADir, "x");
    await expect(loadOrCreateLocalMasterKey(notADir)).rejects.toMatchObject({ code: "ENOTDIR" });
  });
});
