import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { chatRequest } from "./request.js";
import { toGeminiSchema } from "./schema.js";

const ctx = contextOf({ provider: "gemini", endpoint: "chat", upstreamModel: "gemini-x" });
const body = (b: Record<string, unknown>) =>
  JSON.parse(chatRequest({ model: "m", ...b }, ctx).body as string) as Record<string, unknown>;

describe("Gemini chat request", () => {
  it("leaves the client's body untouched", () => {
    const client = { model: "m", messages: [{ role: "user", content: "hi" }], stop: "X", max_tokens: 5 };
    const copy = structuredClone(client);
    chatRequest(client, ctx);
    expect(client).toEqual(copy);
  });

  it("names a tool result by the matching call, else by the message's name", () => {
    const out = body({
      messages: [
        {
          role: "assistant",
          tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "" } }],
        },
        { role: "tool", tool_call_id: "c1", content: [{ type: "text", text: "[1,2]" }] },
        { role: "function", name: "legacy", content: "ok" },
      ],
    });
    expect(out.contents).toEqual([
      { role: "model", parts: [{ functionCall: { name: "f", args: {} } }] },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "f", response: { result: "[1,2]" } } },
          { functionResponse: { name: "legacy", response: { result: "ok" } } },
        ],
      },
    ]);
  });

  it("inlines a data URL that is not base64 and maps audio and files", () => {
    const out = body({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "data:image/svg+xml,%3Csvg%2F%3E" } },
            { type: "input_audio", input_audio: { data: "UklGR", format: "mp3" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBER", filename: "a.pdf" } },
            { type: "image_url", image_url: { url: "gs://bucket/photo.webp" } },
          ],
        },
      ],
    });
    expect((out.contents as Array<{ parts: unknown[] }>)[0]?.parts).toEqual([
      { inlineData: { mimeType: "image/svg+xml", data: Buffer.from("<svg/>").toString("base64") } },
      { inlineData: { mimeType: "audio/mp3", data: "UklGR" } },
      { inlineData: { mimeType: "application/pdf", data: "JVBER" } },
      { fileData: { mimeType: "image/webp", fileUri: "gs://bucket/photo.webp" } },
    ]);
  });

  it("sends json_object as responseMimeType and drops tool_choice without tools", () => {
    const out = body({
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_object" },
      tool_choice: "required",
      max_tokens: 10,
      max_completion_tokens: 20,
    });
    expect(out.generationConfig).toEqual({ responseMimeType: "application/json", maxOutputTokens: 20 });
    expect(out.toolConfig).toBeUndefined();
  });
});

describe("toGeminiSchema", () => {
  it("inlines local $refs and cuts recursive ones off", () => {
    const schema = {
      type: "object",
      properties: { root: { $ref: "#/$defs/node" } },
      $defs: {
        node: {
          type: "object",
          properties: {
            name: { type: "string" },
            left: { $ref: "#/$defs/node" },
            right: { $ref: "#/$defs/node" },
          },
        },
      },
    };
    expect(toGeminiSchema(schema)).toEqual({
      type: "OBJECT",
      properties: {
        root: { type: "OBJECT", properties: { name: { type: "STRING" }, left: {}, right: {} } },
      },
    });
  });

  it("turns anyOf with null into nullable and const into enum", () => {
    expect(toGeminiSchema({ anyOf: [{ type: "integer" }, { type: "null" }] })).toEqual({
      type: "INTEGER",
      nullable: true,
    });
    expect(toGeminiSchema({ const: 3 })).toEqual({ enum: ["3"] });
  });
});
