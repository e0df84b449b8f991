import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { create } from "@bufbuild/protobuf";
import { projectRoot } from "../../lib/src/paths.js";
import { findProvider, resolveBaseUrl } from "../../lib/src/provider-catalog.js";
import { ErrorClass, ProviderSettingsSchema } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialEntrySchema } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CallContext } from "../../worker/src/providers/types.js";
import type { CompiledTarget } from "../../worker/src/table/compile.js";

/**
 * Golden fixtures of the provider adapters, one folder per wire format and
 * case: `test/fixtures/providers/<format>/<case>/`.
 *
 * - `case.json`: `{provider, endpoint: "chat"|"embeddings"|"speech"|"error", stream?, upstreamModel,
 *   settings?, status?, headers?}` (status and headers: the provider's error reply)
 * - `client-request.json`: what the OpenAI client sends (not for errors)
 * - `upstream-request.json`: what the adapter must send: `{path, headers, body}` (an array of them
 *   for embeddings); auth headers are not part of it (auth/ adds them)
 * - `upstream-response.json` (an array of bodies for embeddings) | `.sse` | `.bin`: the provider's reply
 * - `client-response.json` | `client-response.sse`: what the client must get (`created` fields set to 0)
 * - `client-error.json`: for errors, `{status, errorClass, body}`
 * - `request-error.json`: instead of the rest, when the adapter refuses the request (a 400)
 *
 * `UPDATE_GOLDEN=1 npx vitest run test/providers` rewrites every expectation
 * from the adapters; a reviewer reads the diff.
 */
export const FIXTURES_DIR = join(projectRoot(), "test", "fixtures", "providers");

export interface FixtureCase {
  provider: string;
  endpoint: "chat" | "embeddings" | "speech" | "error";
  stream?: boolean;
  upstreamModel: string;
  settings?: Record<string, unknown>;
  status?: number;
  headers?: Record<string, string>;
}

export interface Fixture {
  format: string;
  name: string;
  dir: string;
  spec: FixtureCase;
}

/** Cases every native wire format must have (the coverage check); chat cases also as `stream-<case>`. */
export const REQUIRED_CHAT_CASES = [
  "plain",
  "system",
  "multi-turn",
  "tools",
  "tool-result",
  "parallel-tools",
  "image",
  "finish-stop",
  "finish-length",
  "finish-tool-calls",
  "finish-content-filter",
  "usage",
] as const;
export const REQUIRED_ERROR_CASES = [
  "error-400",
  "error-401",
  "error-403",
  "error-404",
  "error-429",
  "error-500",
  "error-503",
] as const;
/** Native formats and what they must cover besides errors. */
export const NATIVE_FORMATS: Readonly<
  Record<string, { chat: boolean; embeddings: boolean; speech: boolean }>
> = {
  anthropic: { chat: true, embeddings: false, speech: false },
  gemini: { chat: true, embeddings: true, speech: false },
  bedrock: { chat: true, embeddings: true, speech: false },
  cohere: { chat: true, embeddings: true, speech: false },
  elevenlabs: { chat: false, embeddings: false, speech: true },
};

export function loadFixtures(): Fixture[] {
  if (!existsSync(FIXTURES_DIR)) return [];
  const out: Fixture[] = [];
  for (const format of readdirSync(FIXTURES_DIR).sort()) {
    for (const name of readdirSync(join(FIXTURES_DIR, format)).sort()) {
      const dir = join(FIXTURES_DIR, format, name);
      const spec = JSON.parse(readFileSync(join(dir, "case.json"), "utf8")) as FixtureCase;
      out.push({ format, name, dir, spec });
    }
  }
  return out;
}

/** The call context of a fixture: a credential of its provider with its settings. */
export function contextOf(spec: FixtureCase): CallContext {
  const provider = findProvider(spec.provider);
  if (!provider) throw new Error(`unknown provider ${spec.provider}`);
  const settings = create(ProviderSettingsSchema, (spec.settings ?? {}) as never);
  const entry = create(CredentialEntrySchema, {
    id: "00000000-0000-4000-8000-000000000001",
    orgId: "00000000-0000-4000-8000-000000000002",
    provider: provider.id,
    name: "fixture",
    secret: "fixture-secret",
    settings,
    weight: 1,
    enabled: true,
  });
  const base = new URL(resolveBaseUrl(provider, settings));
  const target: CompiledTarget = {
    credential: {
      id: entry.id,
      orgId: entry.orgId,
      provider,
      entry,
      origin: base.origin,
      basePath: base.pathname.replace(/\/+$/, ""),
      models: new Set(),
    },
    upstreamModel: spec.upstreamModel,
    weight: 1,
    cumulative: 1,
  };
  return { target, stream: spec.stream === true };
}

/** Sets every `created` field to 0 (providers without one get the gateway's clock). */
export function normalizeJson(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(normalizeJson);
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value))
      out[k] = k === "created" && typeof v === "number" ? 0 : normalizeJson(v);
    return out;
  }
  return value;
}

/** Normalizes the JSON of every `data:` line of an SSE text; other lines stay as they are. */
export function normalizeSse(text: string): string {
  return text
    .split("\n")
    .map((line) => {
      if (!line.startsWith("data: {")) return line;
      return `data: ${JSON.stringify(normalizeJson(JSON.parse(line.slice(6))))}`;
    })
    .join("\n");
}

export const className = (c: ErrorClass) => (ErrorClass[c] ?? "UNSPECIFIED").toLowerCase();
