import { describe, expect, it } from "vitest";
import { chatResponse, usageFrom } from "./response.js";

describe("usageFrom", () => {
  it.each<[string, unknown, ReturnType<typeof usageFrom>]>([
    [
      "plain counts",
      { prompt_tokens: 12, completion_tokens: 34, total_tokens: 46 },
      { promptTokens: 12, completionTokens: 34, cachedTokens: 0, reasoningTokens: 0 },
    ],
    [
      "cached and reasoning details",
      {
        prompt_tokens: 2006,
        completion_tokens: 300,
        total_tokens: 2306,
        prompt_tokens_details: { cached_tokens: 1920, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 256, audio_tokens: 0, accepted_prediction_tokens: 0 },
      },
      { promptTokens: 2006, completionTokens: 300, cachedTokens: 1920, reasoningTokens: 256 },
    ],
    [
      "details without the counted fields",
      { prompt_tokens: 5, completion_tokens: 6, prompt_tokens_details: {}, completion_tokens_details: {} },
      { promptTokens: 5, completionTokens: 6, cachedTokens: 0, reasoningTokens: 0 },
    ],
    [
      "null details",
      {
        prompt_tokens: 5,
        completion_tokens: 6,
        prompt_tokens_details: null,
        completion_tokens_details: null,
      },
      { promptTokens: 5, completionTokens: 6, cachedTokens: 0, reasoningTokens: 0 },
    ],
    [
      "only completion tokens",
      { completion_tokens: 9 },
      { promptTokens: 0, completionTokens: 9, cachedTokens: 0, reasoningTokens: 0 },
    ],
    ["an empty object", {}, { promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0 }],
    ["undefined", undefined, undefined],
    ["null", null, undefined],
    ["a number", 42, undefined],
    ["a string", "usage", undefined],
  ])("reads %s", (_name, value, expected) => {
    expect(usageFrom(value)).toEqual(expected);
  });
});

describe("chatResponse", () => {
  const completion = {
    id: "chatcmpl-1",
    object: "chat.completion",
    model: "gpt-4o-2024-08-06",
    choices: [{ index: 0, message: { role: "assistant", content: "héllo ✓" }, finish_reason: "stop" }],
    usage: {
      prompt_tokens: 20,
      completion_tokens: 3,
      total_tokens: 23,
      prompt_tokens_details: { cached_tokens: 16 },
      completion_tokens_details: { reasoning_tokens: 1 },
    },
  };

  it.each<[string, string, ReturnType<typeof usageFrom>]>([
    [
      "a completion with usage",
      JSON.stringify(completion),
      { promptTokens: 20, completionTokens: 3, cachedTokens: 16, reasoningTokens: 1 },
    ],
    [
      "pretty-printed JSON",
      JSON.stringify(completion, null, 2),
      { promptTokens: 20, completionTokens: 3, cachedTokens: 16, reasoningTokens: 1 },
    ],
    ["a completion without usage", JSON.stringify({ ...completion, usage: undefined }), undefined],
    ["a completion with null usage", JSON.stringify({ ...completion, usage: null }), undefined],
  ])("reads the usage of %s and returns the body unchanged", (_name, text, usage) => {
    const body = Buffer.from(text, "utf8");
    const copy = Buffer.from(body);
    const out = chatResponse(body);
    expect(out?.usage).toEqual(usage);
    expect(out?.body).toBe(body);
    expect(body.equals(copy)).toBe(true);
  });

  it.each([
    ["invalid JSON", '{"id":"chatcmpl-1","usage":{"prompt_tokens":1'],
    ["an empty body", ""],
    ["a JSON null body", "null"],
    ["a JSON array", "[]"],
  ])("reports %s as unreadable (a malformed reply)", (_name, text) => {
    expect(chatResponse(Buffer.from(text))).toBeUndefined();
  });
});
