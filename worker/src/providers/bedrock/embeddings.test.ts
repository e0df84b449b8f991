import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { GatewayError } from "../../http/errors.js";
import { embeddingsRequest, embeddingsResponse } from "./embeddings.js";

const ctxOf = (upstreamModel: string) =>
  contextOf({
    provider: "bedrock",
    endpoint: "embeddings",
    upstreamModel,
    settings: { region: "us-east-1" },
  });

const reply = (value: unknown) => Buffer.from(JSON.stringify(value));

describe("bedrock embeddings", () => {
  it.each([
    ["amazon.titan-embed-text-v2:0", "inputText"],
    ["amazon.titan-embed-image-v1", "inputText"],
    ["cohere.embed-multilingual-v3", "texts"],
    ["us.cohere.embed-english-v3", "texts"],
    ["arn:aws:bedrock:us-east-1::foundation-model/amazon.titan-embed-text-v1", "inputText"],
  ])("picks the body of %s by its family", (model, field) => {
    const [first] = embeddingsRequest({ input: "a" }, ctxOf(model));
    expect(JSON.parse(first?.body as string)).toHaveProperty(field);
    expect(first?.path).toBe(`/model/${encodeURIComponent(model)}/invoke`);
  });

  it("sends one Titan request per input, in order", () => {
    const reqs = embeddingsRequest({ input: ["a", "b", "c"] }, ctxOf("amazon.titan-embed-text-v2:0"));
    expect(reqs.map((r) => JSON.parse(r.body as string).inputText)).toEqual(["a", "b", "c"]);
  });

  it.each([
    ["an unknown model family", "meta.llama3-8b-instruct-v1:0", { input: "a" }, "model"],
    ["token arrays", "amazon.titan-embed-text-v2:0", { input: [1, 2, 3] }, "input"],
  ])("refuses %s with a 400", (_name, model, body, param) => {
    try {
      embeddingsRequest(body, ctxOf(model));
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe(param);
    }
  });

  it("reads Cohere vectors grouped by type", () => {
    const ctx = ctxOf("cohere.embed-english-v3");
    const request = { input: ["a", "b"] };
    embeddingsRequest(request, ctx);
    const out = embeddingsResponse([reply({ embeddings: { float: [[1], [2]] } })], ctx, request);
    expect(JSON.parse(String(out?.body)).data.map((d: { embedding: number[] }) => d.embedding)).toEqual([
      [1],
      [2],
    ]);
    expect(out?.usage).toBeUndefined();
  });

  it.each([
    ["a Cohere reply with fewer vectors than inputs", "cohere.embed-english-v3", [{ embeddings: [[1]] }]],
    [
      "a Titan reply without an embedding",
      "amazon.titan-embed-text-v2:0",
      [{ message: "x" }, { embedding: [1] }],
    ],
  ])("reports %s as unreadable", (_name, model, replies) => {
    const ctx = ctxOf(model);
    const request = { input: ["a", "b"] };
    embeddingsRequest(request, ctx);
    expect(embeddingsResponse(replies.map(reply), ctx, request)).toBeUndefined();
  });

  it("reports a reply that is not JSON as unreadable", () => {
    const ctx = ctxOf("amazon.titan-embed-text-v2:0");
    expect(embeddingsResponse([Buffer.from("<html>")], ctx, { input: "a" })).toBeUndefined();
  });
});
