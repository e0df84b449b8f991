import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { chatRequest } from "./request.js";

const ctx = contextOf({ provider: "anthropic", endpoint: "chat", upstreamModel: "claude-x" });
const send = (body: Record<string, unknown>) =>
  JSON.parse(chatRequest(body, ctx).body as string) as Record<string, unknown>;

describe("anthropic chatRequest", () => {
  it("does not modify the client's body", () => {
    const body = {
      model: "m",
      messages: [
        { role: "user", content: "a" },
        { role: "user", content: [{ type: "text", text: "b" }] },
      ],
      tools: [{ type: "function", function: { name: "f" } }],
    };
    const copy = structuredClone(body);
    send(body);
    expect(body).toEqual(copy);
  });

  it("sends PDFs as documents and drops parts Anthropic cannot take", () => {
    const out = send({
      messages: [
        {
          role: "user",
          content: [
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=" } },
            { type: "input_audio", input_audio: { data: "x", format: "wav" } },
            { type: "image_url", image_url: { url: "ftp://example.com/a.png" } },
            { type: "text", text: "" },
            { type: "text", text: "read it" },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      {
        role: "user",
        content: [
          { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
          { type: "text", text: "read it" },
        ],
      },
    ]);
  });

  it("reads tool arguments that are not a JSON object as {}", () => {
    const out = send({
      messages: [
        {
          role: "assistant",
          content: "calling",
          tool_calls: [
            { id: "a", type: "function", function: { name: "f", arguments: "not json" } },
            { id: "b", type: "function", function: { name: "g", arguments: "[1]" } },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      {
        role: "assistant",
        content: [
          { type: "text", text: "calling" },
          { type: "tool_use", id: "a", name: "f", input: {} },
          { type: "tool_use", id: "b", name: "g", input: {} },
        ],
      },
    ]);
  });

  it.each([
    ["none", undefined, { type: "none" }],
    ["required", false, { type: "any", disable_parallel_tool_use: true }],
    [undefined, false, { type: "auto", disable_parallel_tool_use: true }],
    [undefined, undefined, undefined],
  ])("maps tool_choice %s with parallel_tool_calls %s", (choice, parallel, expected) => {
    const out = send({
      messages: [{ role: "user", content: "x" }],
      tools: [{ type: "function", function: { name: "f", parameters: { type: "object" } } }],
      ...(choice !== undefined ? { tool_choice: choice } : {}),
      ...(parallel !== undefined ? { parallel_tool_calls: parallel } : {}),
    });
    expect(out.tool_choice).toEqual(expected);
  });

  it("leaves tool_choice out without tools, and clamps a negative temperature", () => {
    const out = send({
      messages: [{ role: "user", content: "x" }],
      tool_choice: "required",
      temperature: -1,
    });
    expect(out.tool_choice).toBeUndefined();
    expect(out.temperature).toBe(0);
  });
});
