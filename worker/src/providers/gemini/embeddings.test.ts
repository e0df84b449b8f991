import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { embeddingsRequest, embeddingsResponse } from "./embeddings.js";

const ctx = contextOf({ provider: "gemini", endpoint: "embeddings", upstreamModel: "gemini-embedding-001" });
const reply = (n: number) =>
  Buffer.from(JSON.stringify({ embeddings: Array.from({ length: n }, (_, i) => ({ values: [i] })) }));

describe("Gemini embeddings", () => {
  it("splits more than 100 inputs into batches and joins the replies in order", () => {
    const input = Array.from({ length: 250 }, (_, i) => `text ${i}`);
    const requests = embeddingsRequest({ model: "e", input }, ctx);
    expect(requests.map((r) => JSON.parse(r.body as string).requests.length)).toEqual([100, 100, 50]);
    const out = embeddingsResponse([reply(100), reply(100), reply(50)], ctx, { model: "e", input });
    const data = JSON.parse(String(out?.body)).data as Array<{ index: number; embedding: number[] }>;
    expect(data).toHaveLength(250);
    expect(data[249]).toEqual({ object: "embedding", index: 249, embedding: [49] });
  });

  it("calls a reply with fewer vectors than inputs unreadable", () => {
    expect(embeddingsResponse([reply(1)], ctx, { model: "e", input: ["a", "b"] })).toBeUndefined();
  });
});
