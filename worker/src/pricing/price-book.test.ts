import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { estimateCostPicos, priceAt } from "../../../lib/src/pricing-catalog.js";
import {
  PriceOverrideEntrySchema,
  RoutingTableDeltaSchema,
  RoutingTableSchema,
  TableChangeSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import { WatchRoutingTableResponseSchema } from "../../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { createRoutingTable } from "../table/routing-table.js";
import { createPriceBook } from "./price-book.js";

/**
 * Exact arithmetic. Prices in USD per million tokens are micro-dollars per
 * token, so every expected cost below is computed by hand in integer
 * picodollars (1e-12 USD): tokens x price x 1e6. The price book divides that
 * exact integer once by 1e12, so its result is the double nearest the exact
 * decimal — the same double the decimal literal parses to — and toBe holds
 * exactly (no toBeCloseTo).
 */
const ORG = "org-a";
const OTHER = "org-b";
const at = (iso: string) => Date.parse(iso);
const usage = (promptTokens: number, completionTokens: number, cachedTokens = 0) => ({
  promptTokens,
  completionTokens,
  cachedTokens,
  reasoningTokens: 0,
});

function tableWithOverride() {
  const table = createRoutingTable();
  table.apply(
    create(WatchRoutingTableResponseSchema, {
      version: 1n,
      payload: {
        case: "snapshot",
        value: create(RoutingTableSchema, {
          priceOverrides: [
            create(PriceOverrideEntrySchema, {
              id: "p1",
              orgId: ORG,
              provider: "openai",
              model: "gpt-4o",
              inputPerMillion: 1.5,
              outputPerMillion: 6,
              cachedInputPerMillion: 0.75,
              effectiveFrom: "2025-05-01",
            }),
          ],
        }),
      },
    }),
  );
  return table;
}

// [what, org, provider, model, usage, time, hand-computed picodollars, USD]
const FIXTURES: Array<[string, string, string, string, ReturnType<typeof usage>, string, bigint, number]> = [
  // 1034 x 150,000 + 200 x 75,000 + 567 x 600,000
  [
    "gpt-4o-mini with cached tokens",
    ORG,
    "openai",
    "gpt-4o-mini",
    usage(1234, 567, 200),
    "2025-03-01T10:00:00Z",
    510_300_000n,
    0.0005103,
  ],
  // Anthropic: prompt includes the cache reads; 2,000 x 3e6 + 8,000 x 3e5 + 500 x 15e6
  [
    "Claude Sonnet 4, cache reads",
    ORG,
    "anthropic",
    "claude-sonnet-4-20250514",
    usage(10_000, 500, 8_000),
    "2025-06-01T00:00:00Z",
    15_900_000_000n,
    0.0159,
  ],
  // o3 before the 2025-06-10 price cut: 1,000 x 10e6 + 2,000 x 40e6
  [
    "o3 before its price change",
    ORG,
    "openai",
    "o3",
    usage(1000, 2000),
    "2025-06-09T23:59:59Z",
    90_000_000_000n,
    0.09,
  ],
  // o3 from 2025-06-10: 1,000 x 2e6 + 2,000 x 8e6
  [
    "o3 after its price change",
    ORG,
    "openai",
    "o3",
    usage(1000, 2000),
    "2025-06-10T00:00:00Z",
    18_000_000_000n,
    0.018,
  ],
  // 3,072 x 300,000 + 1,024 x 30,000 + 256 x 2,500,000
  [
    "Gemini 2.5 Flash, cached",
    ORG,
    "gemini",
    "gemini-2.5-flash",
    usage(4096, 256, 1024),
    "2025-07-01T00:00:00Z",
    1_592_320_000n,
    0.00159232,
  ],
  // DeepSeek before 2025-09-29: 500k x 270,000 + 500k x 70,000 + 100k x 1,100,000
  [
    "deepseek-chat before",
    ORG,
    "deepseek",
    "deepseek-chat",
    usage(1_000_000, 100_000, 500_000),
    "2025-09-28T12:00:00Z",
    280_000_000_000n,
    0.28,
  ],
  // and after: 500k x 280,000 + 500k x 28,000 + 100k x 420,000
  [
    "deepseek-chat after",
    ORG,
    "deepseek",
    "deepseek-chat",
    usage(1_000_000, 100_000, 500_000),
    "2025-09-29T00:00:00Z",
    196_000_000_000n,
    0.196,
  ],
  // a Bedrock cross-region profile: 100,000 x 800,000 + 10,000 x 4,000,000
  [
    "Bedrock us. profile",
    ORG,
    "bedrock",
    "us.anthropic.claude-3-5-haiku-20241022-v1:0",
    usage(100_000, 10_000),
    "2025-01-15T00:00:00Z",
    120_000_000_000n,
    0.12,
  ],
  // Azure priced like OpenAI: 1,000,000 x 400,000 + 250,000 x 1,600,000
  [
    "Azure gpt-4.1-mini",
    ORG,
    "azure-openai",
    "gpt-4.1-mini",
    usage(1_000_000, 250_000),
    "2025-05-01T00:00:00Z",
    800_000_000_000n,
    0.8,
  ],
  // the override in force: 2,000 x 1,500,000 + 1,000 x 750,000 + 700 x 6,000,000
  [
    "override in force",
    ORG,
    "openai",
    "gpt-4o",
    usage(3000, 700, 1000),
    "2025-05-02T00:00:00Z",
    7_950_000_000n,
    0.00795,
  ],
  // the day before it takes effect, the catalog: 2,000 x 2,500,000 + 1,000 x 1,250,000 + 700 x 10,000,000
  [
    "override not yet in force",
    ORG,
    "openai",
    "gpt-4o",
    usage(3000, 700, 1000),
    "2025-04-30T23:59:59Z",
    13_250_000_000n,
    0.01325,
  ],
  [
    "another organization: catalog",
    OTHER,
    "openai",
    "gpt-4o",
    usage(3000, 700, 1000),
    "2025-05-02T00:00:00Z",
    13_250_000_000n,
    0.01325,
  ],
  [
    "a model the catalog lacks",
    ORG,
    "openai",
    "my-finetune",
    usage(3000, 700),
    "2025-05-02T00:00:00Z",
    0n,
    0,
  ],
  [
    "ElevenLabs speech (per character, not priced)",
    ORG,
    "elevenlabs",
    "eleven_multilingual_v2",
    usage(0, 0),
    "2025-05-02T00:00:00Z",
    0n,
    0,
  ],
];

describe("worker price book", () => {
  const table = tableWithOverride();
  const book = createPriceBook(table);

  for (const [what, org, provider, model, u, time, picos, usd] of FIXTURES) {
    it(`${what}: ${usd} USD`, () => {
      expect(book.estimate(org, provider, model, u, at(time))).toBe(usd);
      // the exact integer, resolved the same way (override in force, else catalog by date), is the hand-computed one
      const price = priceAt(table.priceOverride(org, provider, model), provider, model, at(time));
      expect(price ? estimateCostPicos(price, u.promptTokens, u.completionTokens, u.cachedTokens) : 0n).toBe(
        picos,
      );
      expect(Number(picos) / 1e12).toBe(usd);
    });
  }

  it("computes the exact picodollar integers by hand", () => {
    const mini = { inputPerMillion: 0.15, outputPerMillion: 0.6, cachedInputPerMillion: 0.075 };
    expect(estimateCostPicos(mini, 1234, 567, 200)).toBe(510_300_000n);
    const override = { inputPerMillion: 1.5, outputPerMillion: 6, cachedInputPerMillion: 0.75 };
    expect(estimateCostPicos(override, 3000, 700, 1000)).toBe(7_950_000_000n);
  });

  it("prices nothing without usage, and follows the override's removal", () => {
    const t = tableWithOverride();
    const b = createPriceBook(t);
    expect(b.estimate(ORG, "openai", "gpt-4o", undefined, at("2025-05-02T00:00:00Z"))).toBe(0);
    t.apply(
      create(WatchRoutingTableResponseSchema, {
        version: 2n,
        payload: {
          case: "delta",
          value: create(RoutingTableDeltaSchema, {
            fromVersion: 1n,
            changes: [create(TableChangeSchema, { change: { case: "removePriceOverrideId", value: "p1" } })],
          }),
        },
      }),
    );
    expect(b.estimate(ORG, "openai", "gpt-4o", usage(3000, 700, 1000), at("2025-05-02T00:00:00Z"))).toBe(
      0.01325,
    );
  });
});
