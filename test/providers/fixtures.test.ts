import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { findProvider } from "../../lib/src/provider-catalog.js";
import { GatewayError } from "../../worker/src/http/errors.js";
import { ADAPTERS } from "../../worker/src/providers/registry.js";
import type { StreamTranslator, UpstreamRequest } from "../../worker/src/providers/types.js";
import {
  className,
  contextOf,
  type Fixture,
  loadFixtures,
  NATIVE_FORMATS,
  normalizeJson,
  normalizeSse,
  REQUIRED_CHAT_CASES,
  REQUIRED_ERROR_CASES,
} from "../helpers/provider-fixtures.js";

/** Every adapter against its golden fixtures (test/helpers/provider-fixtures.ts describes the layout). */
const UPDATE = process.env.UPDATE_GOLDEN === "1";
const fixtures = loadFixtures();

const read = (f: Fixture, file: string) => readFileSync(join(f.dir, file));
const readJson = (f: Fixture, file: string) => JSON.parse(read(f, file).toString("utf8")) as unknown;

/** Compares with (or, with UPDATE_GOLDEN=1, writes) an expectation file. */
function golden(f: Fixture, file: string, actual: unknown): void {
  const text = typeof actual === "string" ? actual : `${JSON.stringify(actual, null, 2)}\n`;
  const path = join(f.dir, file);
  if (UPDATE) {
    writeFileSync(path, text);
    return;
  }
  if (!existsSync(path)) throw new Error(`${path} is missing: run with UPDATE_GOLDEN=1 and review it`);
  const expected = readFileSync(path, "utf8");
  if (typeof actual === "string") expect(actual).toBe(expected);
  else expect(actual).toEqual(JSON.parse(expected));
}

const requestView = (r: UpstreamRequest) => ({
  path: r.path,
  headers: r.headers,
  body: typeof r.body === "string" ? JSON.parse(r.body) : Buffer.from(r.body).toString("base64"),
});

/** Upstream stream bytes: `.sse` text or `.bin` frames. */
function upstreamStream(f: Fixture): Buffer {
  return existsSync(join(f.dir, "upstream-response.sse"))
    ? read(f, "upstream-response.sse")
    : read(f, "upstream-response.bin");
}

/** Feeds the bytes in pieces of `size` (0: all at once) and returns everything the client gets. */
function runStream(translator: StreamTranslator, bytes: Buffer, size: number): string {
  const out: string[] = [];
  const step = size || bytes.length || 1;
  for (let i = 0; i < bytes.length; i += step) {
    const piece = translator.transform(bytes.subarray(i, i + step));
    out.push(typeof piece === "string" ? piece : piece.toString("utf8"));
  }
  const rest = translator.end();
  out.push(typeof rest === "string" ? rest : rest.toString("utf8"));
  return out.join("");
}

/** A request the adapter refuses to build (a field the provider cannot express): the 400 it gives. */
function refused(f: Fixture, build: () => unknown): boolean {
  try {
    build();
    return false;
  } catch (err) {
    if (!(err instanceof GatewayError)) throw err;
    golden(f, "request-error.json", {
      status: err.status,
      code: err.code,
      param: err.param,
      message: err.message,
    });
    return true;
  }
}

function check(f: Fixture): void {
  const ctx = contextOf(f.spec);
  const provider = findProvider(f.spec.provider);
  expect(provider?.wireFormat, "fixture folder = the provider's wire format").toBe(f.format);
  const adapter = ADAPTERS[f.format as keyof typeof ADAPTERS];
  const { endpoint } = f.spec;
  if (endpoint === "error") {
    const status = f.spec.status ?? 500;
    const t = adapter.error(status, read(f, "upstream-response.json"), f.spec.headers ?? {});
    golden(f, "client-error.json", {
      status: t.status,
      errorClass: className(t.errorClass),
      body: JSON.parse(t.body),
    });
    return;
  }
  const body = readJson(f, "client-request.json") as Record<string, unknown>;
  if (endpoint === "embeddings") {
    const e = adapter.embeddings;
    if (!e) throw new Error(`${f.format} has no embeddings adapter`);
    if (refused(f, () => e.request(body, ctx))) return;
    golden(f, "upstream-request.json", e.request(body, ctx).map(requestView));
    const bodies = (readJson(f, "upstream-response.json") as unknown[]).map((b) =>
      Buffer.from(JSON.stringify(b)),
    );
    const out = e.response(bodies, ctx, body);
    golden(f, "client-response.json", out ? normalizeJson(JSON.parse(out.body.toString())) : null);
    golden(f, "usage.json", out?.usage ?? null);
    return;
  }
  if (endpoint === "speech") {
    const s = adapter.speech;
    if (!s) throw new Error(`${f.format} has no speech adapter`);
    golden(f, "upstream-request.json", requestView(s.request(body, ctx)));
    golden(f, "client-response.json", { contentType: s.contentType(f.spec.headers ?? {}, body) });
    return;
  }
  const chat = adapter.chat;
  if (!chat) throw new Error(`${f.format} has no chat adapter`);
  if (refused(f, () => chat.request(body, ctx))) return;
  golden(f, "upstream-request.json", requestView(chat.request(body, ctx)));
  if (!ctx.stream) {
    const out = chat.response(read(f, "upstream-response.json"), ctx);
    golden(f, "client-response.json", out ? normalizeJson(JSON.parse(out.body.toString())) : null);
    golden(f, "usage.json", out?.usage ?? null);
    return;
  }
  const options = body.stream_options as { include_usage?: boolean } | undefined;
  const stripUsage = options?.include_usage !== true;
  const bytes = upstreamStream(f);
  const whole = chat.stream(ctx, { stripUsage });
  const text = normalizeSse(runStream(whole, bytes, 0));
  golden(f, "client-response.sse", text);
  golden(f, "usage.json", whole.usage() ?? null);
  // The same bytes cut anywhere give the same stream.
  for (const size of [1, 7, 64]) {
    expect(normalizeSse(runStream(chat.stream(ctx, { stripUsage }), bytes, size)), `pieces of ${size}`).toBe(
      text,
    );
  }
}

describe("provider adapters against golden fixtures", () => {
  it.each(fixtures.map((f) => [`${f.format}/${f.name}`, f] as const))("%s", (_name, f) => check(f));
});

describe("fixture coverage", () => {
  const names = (format: string) => new Set(fixtures.filter((f) => f.format === format).map((f) => f.name));
  it.each(Object.entries(NATIVE_FORMATS))("%s has every required case", (format, needs) => {
    const have = names(format);
    const required: string[] = [...REQUIRED_ERROR_CASES];
    if (needs.chat) for (const c of REQUIRED_CHAT_CASES) required.push(c, `stream-${c}`);
    if (needs.embeddings) required.push("embeddings");
    if (needs.speech) required.push("speech");
    expect(required.filter((c) => !have.has(c))).toEqual([]);
  });
});
