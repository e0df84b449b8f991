import type OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { MockProviderOptions } from "../../mock-provider/src/server.js";
import { startTestGateway, type TestGateway } from "./gateway.js";

/**
 * One end-to-end test per provider: the official `openai` SDK against a real
 * worker, routed to a credential of `provider` whose base URL points at the
 * mock provider speaking that provider's native protocol.
 */
export interface ProviderE2E {
  /** Catalog id of the provider. */
  provider: string;
  /** The credential's base URL and other settings, given the mock's origin (http://127.0.0.1:port). */
  settings(origin: string): Record<string, unknown>;
  /** The credential's secret for a mock key (default: the key itself). */
  secret?: (mockKey: string, origin: string) => string;
  /** Upstream model for chat; omit for providers without chat. */
  chatModel?: string;
  /** Upstream model for embeddings, when the provider serves them. */
  embeddingsModel?: string;
  /** Upstream model and voice for /v1/audio/speech, when the provider serves it. */
  speech?: { model: string; voice: string };
  /** Extra mock options (SigV4 keys, service accounts). */
  mock?: MockProviderOptions;
}

const EXPECTED = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const TOOLS = [
  {
    type: "function" as const,
    function: {
      name: "lookup",
      description: "Looks something up",
      parameters: { type: "object", properties: { query: { type: "string" } }, required: ["query"] },
    },
  },
];

/** One provider on its own gateway (with the spec's mock options). */
export function describeProviderE2E(spec: ProviderE2E): void {
  describeProvidersE2E([spec], spec.mock);
}

/**
 * Several providers on one gateway and one mock (the mock speaks every native
 * protocol at once): one describe per provider, each with its own credential
 * and routes named `<provider>/chat`, `<provider>/embed`, `<provider>/speak`.
 */
export function describeProvidersE2E(specs: readonly ProviderE2E[], mock?: MockProviderOptions): void {
  let gw: TestGateway;
  beforeAll(async () => {
    gw = await startTestGateway({ secrets: specs.length + 3, ...(mock ? { mock } : {}) });
  }, 90_000);
  afterAll(async () => {
    await gw?.close();
  });
  for (const spec of specs) describeOne(spec, () => gw);
}

function describeOne(spec: ProviderE2E, gateway: () => TestGateway): void {
  const chat = `${spec.provider}/chat`;
  const embed = `${spec.provider}/embed`;
  const speak = `${spec.provider}/speak`;
  describe(`${spec.provider} through the gateway (OpenAI SDK, mock speaking the native protocol)`, () => {
    let client: OpenAI;

    beforeAll(async () => {
      const gw = gateway();
      const mockOrigin = new URL(gw.mock.url).origin;
      const { id } = await gw.credential({
        provider: spec.provider,
        settings: spec.settings(mockOrigin),
        ...(spec.secret ? { secret: (key: string) => spec.secret?.(key, mockOrigin) ?? key } : {}),
      });
      if (spec.chatModel) await gw.route(chat, [{ credentialId: id, upstreamModel: spec.chatModel }]);
      if (spec.embeddingsModel)
        await gw.route(embed, [{ credentialId: id, upstreamModel: spec.embeddingsModel }]);
      if (spec.speech) await gw.route(speak, [{ credentialId: id, upstreamModel: spec.speech.model }]);
      client = gw.openai;
    }, 60_000);

    if (spec.chatModel) {
      it("completes a non-streaming chat", async () => {
        const c = await client.chat.completions.create({
          model: chat,
          messages: [
            { role: "system", content: "Be brief." },
            { role: "user", content: "Hello there" },
          ],
        });
        expect(c.object).toBe("chat.completion");
        expect(c.choices[0]?.message.content).toBe(EXPECTED);
        expect(c.choices[0]?.finish_reason).toBe("stop");
        expect(c.usage?.completion_tokens).toBe(8);
        expect(c.usage?.prompt_tokens).toBeGreaterThan(0);
      });

      it("streams a tool call, then the answer to its result", async () => {
        const first = await client.chat.completions.create({
          model: chat,
          stream: true,
          stream_options: { include_usage: true },
          tools: TOOLS,
          messages: [{ role: "user", content: "Look up mock" }],
        });
        let name = "";
        let args = "";
        let callId = "";
        let finish: string | null | undefined = null;
        let usage: OpenAI.CompletionUsage | undefined;
        for await (const chunk of first) {
          const call = chunk.choices[0]?.delta.tool_calls?.[0];
          if (call?.id) callId = call.id;
          if (call?.function?.name) name += call.function.name;
          if (call?.function?.arguments) args += call.function.arguments;
          finish = chunk.choices[0]?.finish_reason ?? finish;
          if (chunk.usage) usage = chunk.usage;
        }
        expect(name).toBe("lookup");
        expect(JSON.parse(args)).toEqual({ query: "mock" });
        expect(callId).not.toBe("");
        expect(finish).toBe("tool_calls");
        expect(usage?.prompt_tokens).toBeGreaterThan(0);

        const second = await client.chat.completions.create({
          model: chat,
          stream: true,
          tools: TOOLS,
          messages: [
            { role: "user", content: "Look up mock" },
            {
              role: "assistant",
              content: null,
              tool_calls: [{ id: callId, type: "function", function: { name, arguments: args } }],
            },
            { role: "tool", tool_call_id: callId, content: "found it" },
          ],
        });
        let text = "";
        for await (const chunk of second) text += chunk.choices[0]?.delta.content ?? "";
        expect(text).toBe(EXPECTED);
      });
    }

    if (spec.embeddingsModel) {
      it("creates embeddings", async () => {
        const e = await client.embeddings.create({ model: embed, input: ["first text", "second text"] });
        expect(e.data).toHaveLength(2);
        expect(e.data.map((d) => d.index)).toEqual([0, 1]);
        for (const d of e.data) expect(d.embedding.length).toBeGreaterThan(0);
        expect(e.data[0]?.embedding).not.toEqual(e.data[1]?.embedding);
      });
    }

    if (spec.speech) {
      it("synthesizes speech, streaming the audio through", async () => {
        const speech = spec.speech as { voice: string };
        const res = await client.audio.speech.create({
          model: speak,
          voice: speech.voice,
          input: "Hello there",
        });
        expect(res.headers.get("content-type")).toMatch(/^audio\//);
        const audio = Buffer.from(await res.arrayBuffer());
        expect(audio.length).toBeGreaterThan(0);
      });
    }
  });
}
