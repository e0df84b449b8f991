import { createHash, randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { createSecretBox, secretFingerprint, secretLast4 } from "./envelope.js";

const MASTER = Buffer.alloc(32, 0x11);
const AAD = "org:7c1f/credential:42";
// 1 version byte + master key id(8) + wrap iv(12) + wrap tag(16) + wrapped key(32) + iv(12) + tag(16).
const HEADER = 1 + 8 + 12 + 16 + 32 + 12 + 16;

describe("createSecretBox", () => {
  it.each([
    ["empty", ""],
    ["ascii", "sk-proj-abcdefghijklmnopqrstuvwxyz0123456789"],
    ["unicode", "clé secrète 🔑 ключ"],
    ["long", "x".repeat(10_000)],
  ])("round-trips a %s secret", (_name, plaintext) => {
    const box = createSecretBox(MASTER);
    const sealed = box.seal(plaintext, AAD);
    expect(sealed[0]).toBe(2);
    expect(sealed.length).toBe(HEADER + Buffer.byteLength(plaintext, "utf8"));
    expect(box.open(sealed, AAD)).toBe(plaintext);
  });

  it("never contains the plaintext", () => {
    const secret = "sk-very-recognisable-secret-value";
    const sealed = createSecretBox(MASTER).seal(secret, AAD);
    expect(sealed.includes(Buffer.from(secret))).toBe(false);
  });

  it("opens with a second box over the same master key", () => {
    const sealed = createSecretBox(MASTER).seal("secret", AAD);
    expect(createSecretBox(Buffer.from(MASTER)).open(sealed, AAD)).toBe("secret");
  });

  it.each([
    ["another credential", "org:7c1f/credential:43"],
    ["another organization", "org:7c20/credential:42"],
    ["empty", ""],
    ["a prefix", AAD.slice(0, -1)],
  ])("refuses to open with the AAD of %s", (_name, otherAad) => {
    const box = createSecretBox(MASTER);
    const sealed = box.seal("secret", AAD);
    expect(() => box.open(sealed, otherAad)).toThrow();
  });

  const regions: [string, number][] = [
    ["wrap iv", 1],
    ["wrap tag", 1 + 12],
    ["wrapped key", 1 + 12 + 16],
    ["iv", 1 + 12 + 16 + 32],
    ["tag", 1 + 12 + 16 + 32 + 12],
    ["first ciphertext byte", HEADER],
    ["last ciphertext byte", -1],
  ];
  it.each(regions)("rejects an envelope with a flipped byte in the %s", (_name, at) => {
    const box = createSecretBox(MASTER);
    const sealed = box.seal("a secret worth protecting", AAD);
    const index = at < 0 ? sealed.length + at : at;
    const tampered = Buffer.from(sealed);
    tampered[index] = (tampered[index] as number) ^ 0x01;
    expect(() => box.open(tampered, AAD)).toThrow();
    // The untouched envelope still opens: the failure comes from the flipped byte.
    expect(box.open(sealed, AAD)).toBe("a secret worth protecting");
  });

  it("rejects a truncated envelope", () => {
    const box = createSecretBox(MASTER);
    const sealed = box.seal("secret", AAD);
    expect(() => box.open(sealed.subarray(0, sealed.length - 1), AAD)).toThrow();
  });

  it.each([0, 1, 0xff])("rejects envelope version %i", (version) => {
    const box = createSecretBox(MASTER);
    const sealed = Buffer.from(box.seal("secret", AAD));
    sealed[0] = version;
    expect(() => box.open(sealed, AAD)).toThrow(/unknown or truncated secret envelope/);
  });

  it("seals the same plaintext differently every time", () => {
    const box = createSecretBox(MASTER);
    const seen = new Set<string>();
    for (let i = 0; i < 20; i++) seen.add(box.seal("same secret", AAD).toString("hex"));
    expect(seen.size).toBe(20);
    const [a, b] = [box.seal("same secret", AAD), box.seal("same secret", AAD)];
    // Fresh data key and IVs each time, not just a different tail.
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    expect(a.subarray(HEADER).equals(b.subarray(HEADER))).toBe(false);
  });

  it.each([
    ["a different random key", randomBytes(32)],
    ["a key differing in one bit", Buffer.from(MASTER.map((b, i) => (i === 31 ? b ^ 1 : b)))],
  ])("refuses to open under %s", (_name, otherKey) => {
    const sealed = createSecretBox(MASTER).seal("secret", AAD);
    expect(() => createSecretBox(otherKey).open(sealed, AAD)).toThrow();
  });

  it.each([0, 16, 31, 33, 64])("rejects a %i-byte master key", (length) => {
    expect(() => createSecretBox(Buffer.alloc(length))).toThrow(/32 bytes/);
  });
});

describe("secretFingerprint", () => {
  it.each(["", "a", "sk-abcdefghijklmnop"])("is the first 16 hex characters of SHA-256(%j)", (secret) => {
    const expected = createHash("sha256").update(secret).digest("hex").slice(0, 16);
    expect(secretFingerprint(secret)).toBe(expected);
    expect(secretFingerprint(secret)).toMatch(/^[0-9a-f]{16}$/);
  });

  it("matches a known vector", () => {
    // sha256("abc") = ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad
    expect(secretFingerprint("abc")).toBe("ba7816bf8f01cfea");
  });

  it("differs for different secrets and never contains the secret", () => {
    expect(secretFingerprint("sk-one")).not.toBe(secretFingerprint("sk-two"));
    expect(secretFingerprint("0123456789abcdef")).not.toContain("0123456789abcdef");
  });
});

describe("secretLast4", () => {
  it.each([
    ["", ""],
    ["abcd", ""],
    ["12345678", ""],
    ["123456789", "6789"],
    ["sk-proj-abcdefWXYZ", "WXYZ"],
  ])("secretLast4(%j) is %j", (secret, expected) => {
    expect(secretLast4(secret)).toBe(expected);
  });
});

describe("master-key rotation", () => {
  const OLD = Buffer.alloc(32, 0x22);
  const NEW = Buffer.alloc(32, 0x33);

  it("opens secrets sealed with any configured key and seals with the first", () => {
    const sealedOld = createSecretBox(OLD).seal("sk-old", AAD);
    const both = createSecretBox([NEW, OLD]);
    expect(both.open(sealedOld, AAD)).toBe("sk-old");
    expect(createSecretBox(NEW).open(both.seal("sk-new", AAD), AAD)).toBe("sk-new");
    expect(() => createSecretBox(NEW).open(sealedOld, AAD)).toThrow(
      /master key [0-9a-f]{16}, which is not configured/,
    );
  });

  it("re-wraps the data key with the current key, leaving the ciphertext as it was", () => {
    const sealedOld = createSecretBox(OLD).seal("sk-rotate-me", AAD);
    const both = createSecretBox([NEW, OLD]);
    const rewrapped = both.rewrap(sealedOld);
    expect(rewrapped).toBeDefined();
    expect(rewrapped?.subarray(HEADER - 28).equals(sealedOld.subarray(HEADER - 28))).toBe(true);
    expect(createSecretBox(NEW).open(rewrapped as Buffer, AAD)).toBe("sk-rotate-me");
    expect(both.rewrap(rewrapped as Buffer)).toBeUndefined();
    expect(() => createSecretBox(NEW).open(rewrapped as Buffer, "another row")).toThrow();
  });
});
