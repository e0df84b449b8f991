import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto";

/**
 * AES-256-GCM envelope encryption for provider secrets. Each secret gets its
 * own random data key; the data key is wrapped by a master key. The
 * associated data binds a ciphertext to its row (org and credential id), so a
 * ciphertext copied into another row does not decrypt.
 *
 * Layout (v2): 0x02 | masterKeyId(8) | wrapIv(12) | wrapTag(16) | wrappedKey(32) | iv(12) | tag(16) | ciphertext
 *
 * The master key id is the first 8 bytes of the key's SHA-256, so operators
 * never assign ids, and several master keys can be configured during a
 * rotation: the first seals, all of them open.
 */
const VERSION = 2;
const KEY_ID = 8;
const IV = 12;
const TAG = 16;
const KEY = 32;
const WRAPPED = KEY_ID + IV + TAG + KEY;

export interface SecretBox {
  seal(plaintext: string, aad: string): Buffer;
  open(envelope: Buffer, aad: string): string;
  /**
   * The same envelope with its data key re-wrapped by the current master key
   * (the secret's ciphertext is unchanged), or undefined when it already is.
   */
  rewrap(envelope: Buffer): Buffer | undefined;
  /** Hex id of the master key that seals new secrets. */
  readonly currentKeyId: string;
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

/** The id stored in envelopes: the first 8 bytes of the master key's SHA-256. */
export function masterKeyId(key: Buffer): Buffer {
  return createHash("sha256").update(key).digest().subarray(0, KEY_ID);
}

/**
 * Creates the envelope codec over one or more 32-byte master keys. The first
 * key seals; every key can open what it sealed.
 */
export function createSecretBox(masterKeys: Buffer | readonly Buffer[]): SecretBox {
  const keys = Buffer.isBuffer(masterKeys) ? [masterKeys] : [...masterKeys];
  if (keys.length === 0) throw new Error("at least one master key is needed");
  for (const k of keys) if (k.length !== KEY) throw new Error("master key must be 32 bytes");
  const current = keys[0] as Buffer;
  const currentId = masterKeyId(current);
  const byId = new Map(keys.map((k) => [masterKeyId(k).toString("hex"), k]));
  const wrapAad = Buffer.from("llm-gateway/data-key/v2");

  function wrapDataKey(dataKey: Buffer): Buffer {
    const [wrapIv, wrapTag, wrapped] = gcmEncrypt(current, dataKey, wrapAad);
    return Buffer.concat([currentId, wrapIv, wrapTag, wrapped]);
  }

  function unwrapDataKey(envelope: Buffer): Buffer {
    if (envelope[0] !== VERSION || envelope.length < 1 + WRAPPED + IV + TAG) {
      throw new Error("unknown or truncated secret envelope");
    }
    const id = envelope.subarray(1, 1 + KEY_ID).toString("hex");
    const master = byId.get(id);
    if (!master) throw new Error(`secret sealed with master key ${id}, which is not configured`);
    const at = 1 + KEY_ID;
    return gcmDecrypt(
      master,
      envelope.subarray(at, at + IV),
      envelope.subarray(at + IV, at + IV + TAG),
      envelope.subarray(at + IV + TAG, at + IV + TAG + KEY),
      wrapAad,
    );
  }

  return {
    currentKeyId: currentId.toString("hex"),
    seal(plaintext, aad) {
      const dataKey = randomBytes(KEY);
      try {
        const [iv, tag, ct] = gcmEncrypt(dataKey, Buffer.from(plaintext, "utf8"), Buffer.from(aad));
        return Buffer.concat([Buffer.of(VERSION), wrapDataKey(dataKey), iv, tag, ct]);
      } finally {
        dataKey.fill(0);
      }
    },
    open(envelope, aad) {
      const dataKey = unwrapDataKey(envelope);
      try {
        const body = envelope.subarray(1 + WRAPPED);
        return gcmDecrypt(
          dataKey,
          body.subarray(0, IV),
          body.subarray(IV, IV + TAG),
          body.subarray(IV + TAG),
          Buffer.from(aad),
        ).toString("utf8");
      } finally {
        dataKey.fill(0);
      }
    },
    rewrap(envelope) {
      if (envelope.subarray(1, 1 + KEY_ID).equals(currentId)) return undefined;
      const dataKey = unwrapDataKey(envelope);
      try {
        return Buffer.concat([Buffer.of(VERSION), wrapDataKey(dataKey), envelope.subarray(1 + WRAPPED)]);
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
