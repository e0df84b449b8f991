import { isObject, type Json } from "../shared/json.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, UpstreamRequest } from "../types.js";
import { contentsOf } from "./contents.js";
import { toGeminiSchema } from "./schema.js";

const isNumber = (v: unknown): v is number => typeof v === "number" && Number.isFinite(v);

/** OpenAI `tools` → one Gemini tool holding every function declaration. */
function toolsOf(tools: unknown): Json[] | undefined {
  if (!Array.isArray(tools)) return undefined;
  const declarations: Json[] = [];
  for (const tool of tools) {
    if (!isObject(tool) || tool.type !== "function" || !isObject(tool.function)) continue;
    const fn = tool.function;
    if (typeof fn.name !== "string") continue;
    const declaration: Json = { name: fn.name };
    if (typeof fn.description === "string") declaration.description = fn.description;
    const parameters = toGeminiSchema(fn.parameters);
    // Gemini rejects an OBJECT without properties: a function without parameters declares none.
    const props = parameters.properties;
    if (!(parameters.type === "OBJECT" && (!isObject(props) || Object.keys(props).length === 0))) {
      if (Object.keys(parameters).length > 0) declaration.parameters = parameters;
    }
    declarations.push(declaration);
  }
  return declarations.length > 0 ? [{ functionDeclarations: declarations }] : undefined;
}

const MODES: Readonly<Record<string, string>> = { auto: "AUTO", none: "NONE", required: "ANY" };

/** OpenAI `tool_choice` → `toolConfig`: a mode, or ANY restricted to the named function. */
function toolConfigOf(choice: unknown): Json | undefined {
  if (typeof choice === "string") {
    const mode = MODES[choice];
    return mode ? { functionCallingConfig: { mode } } : undefined;
  }
  if (isObject(choice) && isObject(choice.function) && typeof choice.function.name === "string") {
    return { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  }
  return undefined;
}

/** Sampling and output fields → `generationConfig`; undefined when the client set none. */
function generationConfigOf(body: Json): Json | undefined {
  const out: Json = {};
  if (isNumber(body.temperature)) out.temperature = body.temperature;
  if (isNumber(body.top_p)) out.topP = body.top_p;
  const max = isNumber(body.max_completion_tokens) ? body.max_completion_tokens : body.max_tokens;
  if (isNumber(max)) out.maxOutputTokens = max;
  if (typeof body.stop === "string") out.stopSequences = [body.stop];
  else if (Array.isArray(body.stop) && body.stop.length > 0) out.stopSequences = body.stop;
  if (isNumber(body.n)) out.candidateCount = body.n;
  if (isNumber(body.seed)) out.seed = body.seed;
  if (isNumber(body.presence_penalty)) out.presencePenalty = body.presence_penalty;
  if (isNumber(body.frequency_penalty)) out.frequencyPenalty = body.frequency_penalty;
  if (body.logprobs === true) {
    out.responseLogprobs = true;
    if (isNumber(body.top_logprobs)) out.logprobs = body.top_logprobs;
  }
  const format = body.response_format;
  if (isObject(format)) {
    if (format.type === "json_object") out.responseMimeType = "application/json";
    else if (format.type === "json_schema") {
      out.responseMimeType = "application/json";
      const schema = isObject(format.json_schema) ? format.json_schema.schema : undefined;
      if (isObject(schema)) out.responseSchema = toGeminiSchema(schema);
    }
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * An OpenAI chat request → `generateContent` (or `streamGenerateContent?alt=sse`
 * when streaming; Gemini streams always carry usage). The model travels in
 * the path; the vertex-ai row's path templates put it under its project and
 * region.
 */
export function chatRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const { contents, system } = contentsOf(body.messages);
  const out: Json = {};
  if (system.length > 0) out.systemInstruction = { parts: system.map((text) => ({ text })) };
  out.contents = contents;
  const tools = toolsOf(body.tools);
  if (tools) out.tools = tools;
  const toolConfig = tools ? toolConfigOf(body.tool_choice) : undefined;
  if (toolConfig) out.toolConfig = toolConfig;
  const generationConfig = generationConfigOf(body);
  if (generationConfig) out.generationConfig = generationConfig;
  const path = ctx.stream
    ? pathFor(ctx, "chatStream", "/models/{model}:streamGenerateContent?alt=sse")
    : pathFor(ctx, "chat", "/models/{model}:generateContent");
  return { path, headers: { "content-type": "application/json" }, body: JSON.stringify(out) };
}
