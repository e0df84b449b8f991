import { isObject, type Json } from "../shared/json.js";

/**
 * JSON Schema (what OpenAI tools and `json_schema` response formats carry) →
 * the OpenAPI-3 subset Gemini's `Schema` accepts. Gemini rejects unknown
 * keywords (`additionalProperties`, `$schema`, `$ref` on older models...), so
 * only known ones are kept; local `$ref`s are inlined and `["string","null"]`
 * types become `nullable`.
 */

/** Keywords of Gemini's Schema whose values are copied as they are. */
const PLAIN = new Set([
  "title",
  "description",
  "nullable",
  "enum",
  "maxItems",
  "minItems",
  "minProperties",
  "maxProperties",
  "minLength",
  "maxLength",
  "pattern",
  "example",
  "default",
  "minimum",
  "maximum",
  "propertyOrdering",
  "required",
]);

/** The `format`s Gemini accepts; JSON Schema's others ("email", "uri"...) are rejected, so dropped. */
const FORMATS = new Set(["enum", "date-time", "int32", "int64", "float", "double"]);

/** Nesting deeper than this is cut off as an unconstrained value. */
const MAX_DEPTH = 32;

/** The target of a local `$ref` (`#/$defs/X`, `#/definitions/X`), if any. */
function resolveRef(ref: string, root: Json): Json | undefined {
  if (!ref.startsWith("#/")) return undefined;
  let at: unknown = root;
  for (const raw of ref.slice(2).split("/")) {
    const key = raw.replaceAll("~1", "/").replaceAll("~0", "~");
    if (!isObject(at)) return undefined;
    at = at[key];
  }
  return isObject(at) ? at : undefined;
}

function convert(node: unknown, root: Json, depth: number, refs: ReadonlySet<string> = new Set()): Json {
  if (!isObject(node) || depth > MAX_DEPTH) return {};
  if (typeof node.$ref === "string") {
    // A reference to a schema being expanded (recursion) is cut off as an unconstrained value.
    const target = refs.has(node.$ref) ? undefined : resolveRef(node.$ref, root);
    return target ? convert(target, root, depth + 1, new Set([...refs, node.$ref])) : {};
  }
  const sub = (child: unknown) => convert(child, root, depth + 1, refs);
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    if (PLAIN.has(key)) out[key] = value;
  }
  if (typeof node.format === "string" && FORMATS.has(node.format)) out.format = node.format;
  if ("const" in node && !("enum" in node)) out.enum = [node.const];
  if (Array.isArray(out.enum)) out.enum = out.enum.map(String);
  const { type } = node;
  if (typeof type === "string") out.type = type.toUpperCase();
  else if (Array.isArray(type)) {
    const kinds = type.filter((t): t is string => typeof t === "string" && t !== "null");
    if (kinds.length < type.length) out.nullable = true;
    if (kinds[0] !== undefined) out.type = kinds[0].toUpperCase();
  }
  if (isObject(node.properties)) {
    const props: Json = {};
    for (const [name, schema] of Object.entries(node.properties)) props[name] = sub(schema);
    out.properties = props;
  }
  if (node.items !== undefined) out.items = sub(node.items);
  const union = node.anyOf ?? node.oneOf;
  if (Array.isArray(union)) {
    const subs = union.filter((s) => !(isObject(s) && s.type === "null"));
    if (subs.length < union.length) out.nullable = true;
    if (subs.length === 1) Object.assign(out, sub(subs[0]));
    else out.anyOf = subs.map(sub);
  }
  if (Array.isArray(node.allOf)) {
    for (const part of node.allOf) Object.assign(out, sub(part));
  }
  if (Array.isArray(out.required) && out.required.length === 0) delete out.required;
  // The type first, as people write schemas (key order does not matter to Gemini).
  const { type: kind, ...rest } = out;
  return kind === undefined ? rest : { type: kind, ...rest };
}

/** A tool's `parameters` or a response format's schema in Gemini's Schema dialect. */
export function toGeminiSchema(schema: unknown): Json {
  return isObject(schema) ? convert(schema, schema, 0) : {};
}
