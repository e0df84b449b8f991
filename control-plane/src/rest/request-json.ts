import { type DescField, type DescMessage, ScalarType } from "@bufbuild/protobuf";

/**
 * Builds the proto3 JSON of a request message from the pieces of a REST
 * call: the JSON body, path variables and query parameters. Field paths may
 * use proto names (`org_id`) or JSON names (`orgId`), dotted for nested
 * messages (`settings.base_url`).
 */

export type JsonObject = { [key: string]: unknown };

/** A client mistake; the transcoder answers 400 invalid_argument with the message. */
export class RequestError extends Error {}

/** Well-known types whose JSON form is a string (or, for wrappers, a scalar). */
const STRING_WKT = new Set([
  "google.protobuf.Timestamp",
  "google.protobuf.Duration",
  "google.protobuf.FieldMask",
  "google.protobuf.StringValue",
  "google.protobuf.BytesValue",
  "google.protobuf.Int32Value",
  "google.protobuf.UInt32Value",
  "google.protobuf.Int64Value",
  "google.protobuf.UInt64Value",
  "google.protobuf.FloatValue",
  "google.protobuf.DoubleValue",
  "google.protobuf.BoolValue",
]);

/** Resolves a dotted field path against a message; undefined when a part is unknown or not a message. */
export function resolveFieldPath(message: DescMessage, path: string): DescField[] | undefined {
  const fields: DescField[] = [];
  let current: DescMessage | undefined = message;
  for (const part of path.split(".")) {
    if (!current) return undefined;
    const field: DescField | undefined = current.fields.find((f) => f.name === part || f.jsonName === part);
    if (!field) return undefined;
    fields.push(field);
    current = field.fieldKind === "message" ? field.message : undefined;
  }
  return fields;
}

/** Whether a string (from a path or query) can set this field. */
export function settableFromString(field: DescField): boolean {
  switch (field.fieldKind) {
    case "scalar":
    case "enum":
      return true;
    case "message":
      return STRING_WKT.has(field.message.typeName);
    case "list":
      return field.listKind !== "message" || STRING_WKT.has(field.message.typeName);
    default:
      return false;
  }
}

function isBool(field: DescField): boolean {
  if (field.fieldKind === "scalar" || (field.fieldKind === "list" && field.listKind === "scalar")) {
    return field.scalar === ScalarType.BOOL;
  }
  const message = field.fieldKind === "message" || field.fieldKind === "list" ? field.message : undefined;
  return message?.typeName === "google.protobuf.BoolValue";
}

/**
 * Converts a string to the field's JSON value. proto3 JSON already accepts
 * strings for numbers, 64-bit integers, bytes, enums (by name) and the
 * string-shaped well-known types; booleans and numeric enum values need help.
 * Values it cannot convert stay strings, so fromJson names the field.
 */
function jsonValue(field: DescField, text: string): unknown {
  if (isBool(field)) return text === "true" ? true : text === "false" ? false : text;
  const isEnum = field.fieldKind === "enum" || (field.fieldKind === "list" && field.listKind === "enum");
  if (isEnum && /^-?\d+$/.test(text)) return Number(text);
  return text;
}

/** Finds the object holding the last field of the path, creating nested objects on the way. */
function holder(root: JsonObject, fields: DescField[], path: string): JsonObject {
  let obj = root;
  for (const field of fields.slice(0, -1)) {
    const key = field.name in obj ? field.name : field.jsonName;
    const next = obj[key] ?? {};
    if (typeof next !== "object" || next === null || Array.isArray(next)) {
      throw new RequestError(`${path}: ${field.name} is not an object in the request body`);
    }
    delete obj[field.name];
    obj[field.jsonName] = next;
    obj = next as JsonObject;
  }
  return obj;
}

const same = (a: unknown, b: unknown) =>
  JSON.stringify(a) === JSON.stringify(b) ||
  (typeof a !== "object" && typeof b !== "object" && String(a) === String(b));

/**
 * Sets a field (given by its resolved path) to a JSON value. A value already
 * in the body must agree: the path names the resource, so a body that
 * disagrees is refused rather than silently overridden.
 */
export function setValue(
  root: JsonObject,
  fields: DescField[],
  path: string,
  value: unknown,
  source: string,
): void {
  const field = fields[fields.length - 1] as DescField;
  const obj = holder(root, fields, path);
  for (const key of new Set([field.name, field.jsonName])) {
    if (key in obj && !same(obj[key], value)) {
      throw new RequestError(`${path} in the request body differs from the ${source}`);
    }
    delete obj[key];
  }
  obj[field.jsonName] = value;
}

/** Sets a field from path or query strings (several only for a repeated field). */
export function setFromStrings(
  root: JsonObject,
  fields: DescField[],
  path: string,
  values: string[],
  source: string,
): void {
  const field = fields[fields.length - 1] as DescField;
  if (field.fieldKind !== "list" && values.length > 1) {
    throw new RequestError(`${path} is given ${values.length} times in the ${source} but is not repeated`);
  }
  const value =
    field.fieldKind === "list" ? values.map((v) => jsonValue(field, v)) : jsonValue(field, values[0] ?? "");
  setValue(root, fields, path, value, source);
}
