import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * AES-256-GCM envelope encryption for provider secrets. Each secret gets its
 * own random data key; the data key is wrapped by the master key. The
 * associated data binds a ciphertext to its row (org and credential id), so a
 * ciphertext copied into another row does not decrypt.
 *
 * Layout (v1): 0x01 | wrapIv(12) | wrapTag(16) | wrappedKey(32) | iv(12) | tag(16) | ciphertext
 */
const VERSION = 1;
const IV = 12;
const TAG = 16;
const KEY = 32;

export interface SecretBox {
  seal(plaintext: string, aad: string): Buffer;
  open(envelope: Buffer, aad: string): string;
}

function gcmEncrypt(key: Buffer, data: Buffer, aad: Buffer): [Buffer, Buffer, Buffer] {
  const iv = randomBytes(IV);
  const cipher = createCipheriv("aes-256-gcm", key, iv);
  cipher.setAAD(aad);
  const ct = Buffer.concat([cipher.update(data), cipher.final()]);
  return [iv, cipher.getAuthTag(), ct];
}

function gcmDecrypt(key: Buffer, iv: Buffer, tag: Buffer, ct: Buffer, aad: Buffer): Buffer {
  const decipher = createDecipheriv("aes-256-gcm", key, iv);
  decipher.setAAD(aad);
  decipher.setAuthTag(tag);
  return Buffer.concat([decipher.update(ct), decipher.final()]);
}

/** Creates the envelope codec over a 32-byte master key. */
export function createSecretBox(masterKey: Buffer): SecretBox {
  if (masterKey.length !== KEY) throw new Error("master key must be 32 bytes");
  const wrapAad = Buffer.from("llm-gateway/data-key/v1");
  return {
    seal(plaintext, aad) {
      const dataKey = randomBytes(KEY);
      const [wrapIv, wrapTag, wrapped] = gcmEncrypt(masterKey, dataKey, wrapAad);
      const [iv, tag, ct] = gcmEncrypt(dataKey, Buffer.from(plaintext, "utf8"), Buffer.from(aad));
      dataKey.fill(0);
      return Buffer.concat([Buffer.of(VERSION), wrapIv, wrapTag, wrapped, iv, tag, ct]);
    },
    open(envelope, aad) {
      if (envelope[0] !== VERSION) throw new Error("unknown secret envelope version");
      let at = 1;
      const take = (n: number) => {
        const part = envelope.subarray(at, at + n);
        at += n;
        return part;
      };
      const wrapIv = take(IV);
      const wrapTag = take(TAG);
      const wrapped = take(KEY);
      const iv = take(IV);
      const tag = take(TAG);
      const ct = envelope.subarray(at);
      const dataKey = gcmDecrypt(masterKey, wrapIv, wrapTag, wrapped, wrapAad);
      try {
        return gcmDecrypt(dataKey, iv, tag, ct, Buffer.from(aad)).toString("utf8");
      } finally {
        dataKey.fill(0);
      }
    },
  };
}

/** Fingerprint shown instead of a secret: 16 hex characters of its SHA-256. */
export function secretFingerprint(secret: string): string {
  return createHash("sha256").update(secret).digest("hex").slice(0, 16);
}

export function secretLast4(secret: string): string {
  return secret.length <= 8 ? "" : secret.slice(-4);
}
