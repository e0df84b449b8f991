import { createHash } from "node:crypto";
import { Code, ConnectError } from "@connectrpc/connect";
import { describe, expect, it } from "vitest";
import { type AuditEntry, auditRowHash, requireReason } from "./audit-log.js";

const ENTRY: AuditEntry = {
  orgId: "3f0c7a52-5c7e-4d0a-9a55-8a7a3f1e2b10",
  actor: "api_key:key-1",
  action: "credentials.update",
  resourceType: "credential",
  resourceId: "cred-1",
  before: { name: "primary", enabled: true },
  after: { name: "primary", enabled: false },
  reason: "rotating the provider secret",
};
const PREV = createHash("sha256").update("previous row").digest();
const SEQ = 7;
const AT = "2025-01-02T03:04:05.678Z";

describe("auditRowHash", () => {
  it("is a deterministic 32-byte SHA-256", () => {
    const a = auditRowHash(PREV, SEQ, AT, ENTRY);
    const b = auditRowHash(Buffer.from(PREV), SEQ, AT, structuredClone(ENTRY));
    expect(a.length).toBe(32);
    expect(a.equals(b)).toBe(true);
  });

  it("hashes the previous hash followed by the canonical JSON of the row", () => {
    // Written out by hand: object keys sorted, so jsonb's reordering cannot change the hash.
    const body =
      '["3f0c7a52-5c7e-4d0a-9a55-8a7a3f1e2b10",7,"2025-01-02T03:04:05.678Z","api_key:key-1","credentials.update",' +
      '"credential","cred-1",{"enabled":true,"name":"primary"},{"enabled":false,"name":"primary"},"rotating the provider secret"]';
    const expected = createHash("sha256").update(PREV).update(body).digest();
    expect(auditRowHash(PREV, SEQ, AT, ENTRY).equals(expected)).toBe(true);
  });

  it("hashes only the row for the first row of a chain", () => {
    const first = auditRowHash(null, 1, AT, ENTRY);
    const body =
      '["3f0c7a52-5c7e-4d0a-9a55-8a7a3f1e2b10",1,"2025-01-02T03:04:05.678Z","api_key:key-1","credentials.update",' +
      '"credential","cred-1",{"enabled":true,"name":"primary"},{"enabled":false,"name":"primary"},"rotating the provider secret"]';
    expect(first.equals(createHash("sha256").update(body).digest())).toBe(true);
    expect(first.equals(auditRowHash(Buffer.alloc(0), 1, AT, ENTRY))).toBe(true);
  });

  it("does not depend on object key order (jsonb stores keys reordered)", () => {
    const reordered = {
      ...ENTRY,
      before: { enabled: true, name: "primary" },
      after: { enabled: false, name: "primary" },
    };
    expect(auditRowHash(PREV, SEQ, AT, reordered).equals(auditRowHash(PREV, SEQ, AT, ENTRY))).toBe(true);
  });

  const base = auditRowHash(PREV, SEQ, AT, ENTRY);

  it.each<[string, Partial<AuditEntry>]>([
    ["orgId", { orgId: "3f0c7a52-5c7e-4d0a-9a55-8a7a3f1e2b11" }],
    ["orgId (platform-wide)", { orgId: null }],
    ["actor", { actor: "api_key:key-2" }],
    ["action", { action: "credentials.delete" }],
    ["resourceType", { resourceType: "route" }],
    ["resourceId", { resourceId: "cred-2" }],
    ["before", { before: { name: "primary", enabled: false } }],
    ["before (absent)", { before: undefined }],
    ["after", { after: { name: "secondary", enabled: false } }],
    ["after (absent)", { after: undefined }],
    ["reason", { reason: "rotating the provider secret." }],
  ])("changes when %s changes", (_field, change) => {
    expect(auditRowHash(PREV, SEQ, AT, { ...ENTRY, ...change }).equals(base)).toBe(false);
  });

  it.each<[string, Buffer | null, number, string]>([
    ["the previous hash", createHash("sha256").update("another row").digest(), SEQ, AT],
    ["the previous hash (one bit)", Buffer.from(PREV.map((b, i) => (i === 0 ? b ^ 1 : b))), SEQ, AT],
    ["the previous hash (none)", null, SEQ, AT],
    ["seq", PREV, SEQ + 1, AT],
    ["occurredAt", PREV, SEQ, "2025-01-02T03:04:05.679Z"],
  ])("changes when %s changes", (_name, prev, seq, at) => {
    expect(auditRowHash(prev, seq, at, ENTRY).equals(base)).toBe(false);
  });

  it("keeps field boundaries: moving text between adjacent fields changes the hash", () => {
    const a = auditRowHash(PREV, SEQ, AT, { ...ENTRY, action: "ab", resourceType: "c" });
    const b = auditRowHash(PREV, SEQ, AT, { ...ENTRY, action: "a", resourceType: "bc" });
    expect(a.equals(b)).toBe(false);
  });

  it("treats an absent before/after like null", () => {
    const absent = auditRowHash(PREV, SEQ, AT, { ...ENTRY, before: undefined, after: undefined });
    const nulls = auditRowHash(PREV, SEQ, AT, { ...ENTRY, before: null, after: null });
    expect(absent.equals(nulls)).toBe(true);
  });

  it("chains: changing an earlier row changes every later hash", () => {
    const chain = (reasons: string[]) => {
      let prev: Buffer | null = null;
      const hashes: string[] = [];
      reasons.forEach((reason, i) => {
        prev = auditRowHash(prev, i + 1, AT, { ...ENTRY, reason });
        hashes.push(prev.toString("hex"));
      });
      return hashes;
    };
    const original = chain(["one", "two", "three"]);
    const edited = chain(["ONE", "two", "three"]);
    expect(new Set(original).size).toBe(3);
    original.forEach((hash, i) => {
      expect(edited[i]).not.toBe(hash);
    });
  });
});

describe("requireReason", () => {
  it.each([
    ["plain", "rotate key", "rotate key"],
    ["surrounding whitespace", "  \trotate key\n ", "rotate key"],
    ["exactly 1000 characters", "r".repeat(1000), "r".repeat(1000)],
    ["1000 characters plus padding", `  ${"r".repeat(1000)}  `, "r".repeat(1000)],
  ])("accepts a %s reason and returns it trimmed", (_name, reason, expected) => {
    expect(requireReason(reason)).toBe(expected);
  });

  it.each([
    ["empty", "", /required/],
    ["spaces", "   ", /required/],
    ["tabs and newlines", "\t\n\r\n", /required/],
    ["1001 characters", "r".repeat(1001), /longer than 1000/],
    ["very long", "r".repeat(50_000), /longer than 1000/],
  ])("rejects a %s reason with InvalidArgument", (_name, reason, message) => {
    let thrown: unknown;
    try {
      requireReason(reason);
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(ConnectError);
    expect((thrown as ConnectError).code).toBe(Code.InvalidArgument);
    expect((thrown as ConnectError).rawMessage).toMatch(message);
  });
});
