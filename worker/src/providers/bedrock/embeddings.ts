import { embeddingsList, inputTexts } from "../shared/embeddings.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, TranslatedBody, UpstreamRequest } from "../types.js";
import { unsupported } from "./messages.js";

/**
 * Embeddings through InvokeModel (`/model/{model}/invoke`), whose body is
 * the model's own. The family is chosen by the upstream model's id (a
 * prefix; cross-region profiles such as `us.cohere...` and ARNs match too):
 *
 * - Titan (`amazon.titan-embed-*`): one input per request `{inputText}` →
 *   `{embedding, inputTextTokenCount}`; OpenAI's `dimensions` only for v2;
 * - Cohere (`cohere.embed-*`): `{texts, input_type: "search_document"}` →
 *   `{embeddings}` (no token count in the body: usage is unknown).
 */

interface Family {
  prefix: string;
  /** The request bodies for the inputs. */
  bodies(inputs: string[], body: Record<string, unknown>): Record<string, unknown>[];
  /** The vectors and prompt tokens of the replies; undefined when unreadable. */
  read(replies: unknown[], inputs: number): { vectors: number[][]; tokens: number | undefined } | undefined;
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

const titan = (prefix: string, dimensions: boolean): Family => ({
  prefix,
  bodies: (inputs, body) =>
    inputs.map((inputText) => ({
      inputText,
      ...(dimensions && typeof body.dimensions === "number" ? { dimensions: body.dimensions } : {}),
    })),
  read(replies) {
    const vectors: number[][] = [];
    let tokens = 0;
    for (const r of replies) {
      const reply = r as { embedding?: unknown; inputTextTokenCount?: unknown } | null;
      if (!isVector(reply?.embedding)) return undefined;
      vectors.push(reply.embedding);
      if (Number.isSafeInteger(reply.inputTextTokenCount)) tokens += reply.inputTextTokenCount as number;
    }
    return { vectors, tokens };
  },
});

/** Embedding families by model-id prefix, most specific first. */
const FAMILIES: readonly Family[] = [
  titan("amazon.titan-embed-text-v2", true),
  titan("amazon.titan-embed-", false),
  {
    prefix: "cohere.embed-",
    bodies: (inputs) => [{ texts: inputs, input_type: "search_document" }],
    read(replies, inputs) {
      const [reply] = replies as Array<{ embeddings?: unknown } | null>;
      let e = reply?.embeddings;
      // With embedding_types the vectors are grouped by type.
      if (e !== null && typeof e === "object" && !Array.isArray(e)) e = (e as { float?: unknown }).float;
      if (!Array.isArray(e) || e.length !== inputs || !e.every(isVector)) return undefined;
      return { vectors: e, tokens: undefined };
    },
  },
];

/** The family of an upstream model id (an ARN's last part; a region-group prefix like `us.` skipped). */
function familyOf(model: string): Family | undefined {
  const id = model.slice(model.lastIndexOf("/") + 1);
  return FAMILIES.find((f) => id.startsWith(f.prefix) || id.includes(`.${f.prefix}`));
}

/** The InvokeModel request(s) of an OpenAI embeddings request. */
export function embeddingsRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest[] {
  const model = ctx.target.upstreamModel;
  const family = familyOf(model);
  if (!family) {
    unsupported(
      `${model} is not a Bedrock embeddings model the gateway knows (amazon.titan-embed-*, cohere.embed-*)`,
      "model",
    );
  }
  const inputs = inputTexts(body.input, "Bedrock");
  const path = pathFor(ctx, "embeddings", "/model/{model}/invoke");
  return family.bodies(inputs, body).map((b) => ({
    path,
    headers: { "content-type": "application/json", accept: "application/json" },
    body: JSON.stringify(b),
  }));
}

/** The replies, in request order → an OpenAI embeddings list. */
export function embeddingsResponse(
  bodies: Buffer[],
  ctx: CallContext,
  request: Record<string, unknown>,
): TranslatedBody | undefined {
  const model = ctx.target.upstreamModel;
  const family = familyOf(model);
  if (!family) return undefined;
  let replies: unknown[];
  try {
    replies = bodies.map((b) => JSON.parse(b.toString("utf8")) as unknown);
  } catch {
    return undefined;
  }
  const inputs = inputTexts(request.input, "Bedrock").length;
  const read = family.read(replies, inputs);
  if (!read) return undefined;
  return embeddingsList(read.vectors, model, read.tokens, request, inputs);
}
