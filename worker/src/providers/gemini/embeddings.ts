import { embeddingsList, inputTexts } from "../shared/embeddings.js";
import { isObject, type Json } from "../shared/json.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, TranslatedBody, UpstreamRequest } from "../types.js";

const HEADERS = { "content-type": "application/json" } as const;

/** The row's dialect decides the embeddings API: "vertex" is `:predict`, else AI Studio's batch call. */
const isVertex = (ctx: CallContext) => ctx.target.credential.provider.dialect === "vertex";

/** AI Studio takes at most this many requests in one batchEmbedContents call. */
const MAX_BATCH = 100;

/**
 * OpenAI embeddings → AI Studio `batchEmbedContents` (up to 100 inputs per
 * request, the model repeated per item as `models/<model>`), or on Vertex AI
 * one `:predict` per input (gemini-embedding-001 takes a single instance per
 * request). `dimensions` → `outputDimensionality`.
 */
export function embeddingsRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest[] {
  const texts = inputTexts(body.input, "Gemini");
  const dims = typeof body.dimensions === "number" ? body.dimensions : undefined;
  if (isVertex(ctx)) {
    const path = pathFor(ctx, "embeddings", "/models/{model}:predict");
    return texts.map((content) => {
      const out: Json = { instances: [{ content }] };
      if (dims !== undefined) out.parameters = { outputDimensionality: dims };
      return { path, headers: { ...HEADERS }, body: JSON.stringify(out) };
    });
  }
  const model = ctx.target.upstreamModel;
  const name = model.startsWith("models/") ? model : `models/${model}`;
  const path = pathFor(ctx, "embeddings", "/models/{model}:batchEmbedContents");
  const out: UpstreamRequest[] = [];
  for (let start = 0; start < texts.length; start += MAX_BATCH) {
    const requests = texts.slice(start, start + MAX_BATCH).map((text) => {
      const item: Json = { model: name, content: { parts: [{ text }] } };
      if (dims !== undefined) item.outputDimensionality = dims;
      return item;
    });
    out.push({ path, headers: { ...HEADERS }, body: JSON.stringify({ requests }) });
  }
  return out;
}

function parse(body: Buffer): Json | undefined {
  try {
    const value: unknown = JSON.parse(body.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const isVector = (v: unknown): v is number[] => Array.isArray(v) && v.every((x) => typeof x === "number");

/** The vectors and token count of the replies; undefined when one is unreadable. */
function vectorsOf(bodies: Buffer[], vertex: boolean): { vectors: number[][]; tokens: number } | undefined {
  const vectors: number[][] = [];
  let tokens = 0;
  for (const body of bodies) {
    const parsed = parse(body);
    if (!parsed) return undefined;
    const items = vertex ? parsed.predictions : parsed.embeddings;
    if (!Array.isArray(items)) return undefined;
    for (const item of items) {
      const embedding = vertex && isObject(item) ? item.embeddings : item;
      const values = isObject(embedding) ? embedding.values : undefined;
      if (!isVector(values)) return undefined;
      vectors.push(values);
      const stats = isObject(embedding) ? embedding.statistics : undefined;
      const count = isObject(stats) ? stats.token_count : undefined;
      if (typeof count === "number" && Number.isFinite(count) && count > 0) tokens += Math.round(count);
    }
  }
  return { vectors, tokens };
}

/**
 * The replies → an OpenAI `list`: `embeddings[].values` (AI Studio) or
 * `predictions[].embeddings.values` (Vertex AI), floats or base64 float32 as
 * the client asked. Vertex reports token counts per input; AI Studio reports
 * none, so its usage is 0. Undefined when a reply is unreadable or the
 * vectors do not match the inputs one to one.
 */
export function embeddingsResponse(
  bodies: Buffer[],
  ctx: CallContext,
  request: Record<string, unknown>,
): TranslatedBody | undefined {
  const read = bodies.length > 0 ? vectorsOf(bodies, isVertex(ctx)) : undefined;
  if (!read) return undefined;
  const inputs = inputTexts(request.input, "Gemini").length;
  return embeddingsList(read.vectors, ctx.target.upstreamModel, read.tokens, request, inputs);
}
