/**
 * The synthetic routing table of the route-decision bench (issue 8, target 5): 1,000
 * organizations, each with 10 credentials over several providers, 100 API keys and 10 routes of
 * 2-3 weighted targets plus a fallback step (a quarter with a second one), encoded as the control
 * plane sends a full table. Seeded: every run builds the same shape, and `intBelow` goes on with
 * the same generator, so the bench's random sequence is the same too.
 */
import { randomUUID } from "node:crypto";
import { create, toBinary } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import { generateApiKey, hashApiKey } from "../../lib/src/api-key.js";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type ApiKeyEntry,
  ApiKeyEntrySchema,
  type CredentialEntry,
  CredentialEntrySchema,
  type OrganizationEntry,
  OrganizationEntrySchema,
  type RouteEntry,
  RouteEntrySchema,
  RoutingTableSchema,
} from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { WatchRoutingTableResponseSchema } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";

export const ORGS = 1000;
export const CREDENTIALS_PER_ORG = 10;
export const KEYS_PER_ORG = 100;
export const ROUTES_PER_ORG = 10;

/** mulberry32: a seeded generator, so every run builds the same shape and walks the same sequence. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
const rng = seeded(8);
export const intBelow = (n: number) => Math.floor(rng() * n);

/** Providers with a default base URL, and the upstream model a target of each sends. */
export const PROVIDERS = [
  "openai",
  "anthropic",
  "gemini",
  "mistral",
  "groq",
  "openrouter",
  "together",
  "deepseek",
];
/** Public model names; each organization routes 10 of them. */
const MODELS = [
  "gpt-4o",
  "gpt-4o-mini",
  "gpt-4.1",
  "gpt-4.1-mini",
  "o3",
  "o4-mini",
  "claude-sonnet-4",
  "claude-haiku-4",
  "claude-opus-4",
  "gemini-2.5-pro",
  "gemini-2.5-flash",
  "mistral-large",
  "llama-3.3-70b",
  "deepseek-chat",
  "deepseek-reasoner",
  "qwen-2.5-72b",
  "text-embedding-3-small",
  "text-embedding-3-large",
  "chat-default",
  "chat-cheap",
];
const WEIGHTS = [
  [1, 1],
  [70, 30],
  [80, 20],
  [50, 30, 20],
  [1, 1, 1],
  [60, 30, 10],
] as const;

export interface Synthetic {
  organizations: OrganizationEntry[];
  credentials: CredentialEntry[];
  apiKeys: ApiKeyEntry[];
  routes: RouteEntry[];
  /** Bearer tokens in the order of apiKeys. */
  tokens: string[];
  /** Model names routed, per organization (index as in organizations). */
  modelsByOrg: string[][];
  /** Organization index of each key. */
  orgOfKey: Int32Array;
  targetsPerRoute: number[];
  fallbackStepsPerRoute: number[];
}

/** Picks `n` distinct items of `from` not in `except`. */
function distinct<T>(from: readonly T[], n: number, except: ReadonlySet<T> = new Set()): T[] {
  const out: T[] = [];
  while (out.length < n) {
    const x = from[intBelow(from.length)] as T;
    if (!except.has(x) && !out.includes(x)) out.push(x);
  }
  return out;
}

function synthesize(): Synthetic {
  const s: Synthetic = {
    organizations: [],
    credentials: [],
    apiKeys: [],
    routes: [],
    tokens: [],
    modelsByOrg: [],
    orgOfKey: new Int32Array(ORGS * KEYS_PER_ORG),
    targetsPerRoute: [0, 0, 0, 0],
    fallbackStepsPerRoute: [0, 0, 0],
  };
  const now = Date.now();
  for (let o = 0; o < ORGS; o++) {
    const orgId = randomUUID();
    s.organizations.push(create(OrganizationEntrySchema, { id: orgId, slug: `org-${o}`, disabled: false }));
    const credentialIds: string[] = [];
    for (let c = 0; c < CREDENTIALS_PER_ORG; c++) {
      const id = randomUUID();
      credentialIds.push(id);
      const provider = PROVIDERS[(o + c) % PROVIDERS.length] as string;
      s.credentials.push(
        create(CredentialEntrySchema, {
          id,
          orgId,
          provider,
          name: `${provider}-${c}`,
          secret: `sk-${id}`,
          weight: c % 4 === 0 ? 2 : 1,
          enabled: true,
        }),
      );
    }
    for (let k = 0; k < KEYS_PER_ORG; k++) {
      const token = generateApiKey();
      s.orgOfKey[s.tokens.length] = o;
      s.tokens.push(token);
      s.apiKeys.push(
        create(ApiKeyEntrySchema, {
          id: randomUUID(),
          orgId,
          keyHash: hashApiKey(token),
          userId: k % 3 === 0 ? "" : `user-${o}-${k}`,
          // One key in ten expires (in a year), the others never do.
          ...(k % 10 === 0 ? { expiresAt: timestampFromMs(now + 365 * 86_400_000) } : {}),
        }),
      );
    }
    const models = distinct(MODELS, ROUTES_PER_ORG);
    s.modelsByOrg.push(models);
    for (const model of models) {
      const weights = WEIGHTS[intBelow(WEIGHTS.length)] as readonly number[];
      const primary = distinct(credentialIds, weights.length);
      const target = (credentialId: string, weight: number) => ({
        credentialId,
        // Non-OpenAI providers get a provider-side model name.
        upstreamModel: credentialIds.indexOf(credentialId) % 2 === 0 ? "" : `${model}-upstream`,
        weight,
      });
      const fallback = distinct(credentialIds, 1 + intBelow(2), new Set(primary));
      const fallbacks = [
        {
          targets: fallback.map((id) => target(id, 1)),
          triggers: [
            ErrorClass.UNAVAILABLE,
            ErrorClass.RATE_LIMITED,
            ErrorClass.TIMEOUT,
            ErrorClass.QUOTA_EXHAUSTED,
          ],
        },
      ];
      if (rng() < 0.25) {
        const last = distinct(credentialIds, 1, new Set([...primary, ...fallback]));
        fallbacks.push({ targets: last.map((id) => target(id, 1)), triggers: [ErrorClass.UNAVAILABLE] });
      }
      s.targetsPerRoute[weights.length] = (s.targetsPerRoute[weights.length] ?? 0) + 1;
      s.fallbackStepsPerRoute[fallbacks.length] = (s.fallbackStepsPerRoute[fallbacks.length] ?? 0) + 1;
      s.routes.push(
        create(RouteEntrySchema, {
          id: randomUUID(),
          orgId,
          model,
          targets: primary.map((id, i) => target(id, weights[i] as number)),
          fallbacks,
        }),
      );
    }
  }
  return s;
}

/**
 * The snapshot as the control plane sends it. Built and encoded inside a
 * function, so no temporary outlives it (an interpreted top-level frame keeps
 * its registers alive, which would count the messages in the heap figures).
 */
export function encodeSnapshot(): {
  bytes: Uint8Array;
  synthesizeMs: number;
  encodeMs: number;
  rest: Synthetic;
} {
  let t = performance.now();
  const s = synthesize();
  const synthesizeMs = performance.now() - t;
  t = performance.now();
  const bytes = toBinary(
    WatchRoutingTableResponseSchema,
    create(WatchRoutingTableResponseSchema, {
      version: 1n,
      payload: {
        case: "snapshot",
        value: create(RoutingTableSchema, {
          organizations: s.organizations,
          credentials: s.credentials,
          apiKeys: s.apiKeys,
          routes: s.routes,
        }),
      },
    }),
  );
  const encodeMs = performance.now() - t;
  // Only what the loops need survives: the tokens and the models per organization.
  return {
    bytes,
    synthesizeMs,
    encodeMs,
    rest: { ...s, organizations: [], credentials: [], apiKeys: [], routes: [] },
  };
}
