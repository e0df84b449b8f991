/**
 * protoc-gen-validate rules on plain values. The rules arrive as the proto
 * JSON of a `validate.*Rules` message (proto field names; 64-bit integers and
 * durations as strings), exactly as `toJson` prints the option.
 */
import { type JsonObject, type JsonValue, ScalarType } from "@bufbuild/protobuf";

/** Reports one broken rule, e.g. `("string.min_len", "length 0 is below 1")`. */
export type Report = (rule: string, message: string) => void;

/** The `validate.FieldRules` key for each scalar type. */
export const SCALAR_RULE_KEY: Record<ScalarType, string> = {
  [ScalarType.DOUBLE]: "double",
  [ScalarType.FLOAT]: "float",
  [ScalarType.INT64]: "int64",
  [ScalarType.UINT64]: "uint64",
  [ScalarType.INT32]: "int32",
  [ScalarType.FIXED64]: "fixed64",
  [ScalarType.FIXED32]: "fixed32",
  [ScalarType.BOOL]: "bool",
  [ScalarType.STRING]: "string",
  [ScalarType.BYTES]: "bytes",
  [ScalarType.UINT32]: "uint32",
  [ScalarType.SFIXED32]: "sfixed32",
  [ScalarType.SFIXED64]: "sfixed64",
  [ScalarType.SINT32]: "sint32",
  [ScalarType.SINT64]: "sint64",
};

/** The object under `key`, if it is one. */
export function objectAt(value: JsonValue | undefined, key: string): JsonObject | undefined {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const inner = value[key];
  return inner !== null && typeof inner === "object" && !Array.isArray(inner) ? inner : undefined;
}

function num(v: JsonValue | undefined): number | undefined {
  if (typeof v === "number") return v;
  if (typeof v === "string" && v.trim() !== "") return Number(v);
  return undefined;
}

function list(v: JsonValue | undefined): JsonValue[] {
  return Array.isArray(v) ? v : [];
}

/** Nanoseconds of a proto JSON duration ("1.5s", "-0.001s"). */
export function durationNanos(text: string): number {
  const m = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/.exec(text);
  if (!m) throw new Error(`not a proto JSON duration: ${text}`);
  const nanos = Number(m[2]) * 1e9 + Number((m[3] ?? "").padEnd(9, "0"));
  return m[1] === "-" ? -nanos : nanos;
}

/** const, in, not_in and the gt/gte/lt/lte range (reversed bounds mean "outside"). */
function checkOrdered(
  v: number,
  r: JsonObject,
  kind: string,
  parse: (j: JsonValue | undefined) => number | undefined,
  report: Report,
  show: (n: number) => string,
): void {
  const c = parse(r.const);
  if (c !== undefined && v !== c) report(`${kind}.const`, `${show(v)} must equal ${show(c)}`);
  const ins = list(r.in).map(parse);
  if (ins.length > 0 && !ins.includes(v)) report(`${kind}.in`, `${show(v)} is not one of the allowed values`);
  if (list(r.not_in).map(parse).includes(v)) report(`${kind}.not_in`, `${show(v)} is not allowed`);
  const gt = parse(r.gt);
  const gte = parse(r.gte);
  const lt = parse(r.lt);
  const lte = parse(r.lte);
  const low = gt ?? gte;
  const high = lt ?? lte;
  const lowOk = gt !== undefined ? v > gt : gte !== undefined ? v >= gte : true;
  const highOk = lt !== undefined ? v < lt : lte !== undefined ? v <= lte : true;
  const lowText = gt !== undefined ? `greater than ${show(gt)}` : `at least ${show(gte ?? 0)}`;
  const highText = lt !== undefined ? `less than ${show(lt)}` : `at most ${show(lte ?? 0)}`;
  if (low !== undefined && high !== undefined && low > high) {
    if (!lowOk && !highOk) report(`${kind}.range`, `${show(v)} must be ${lowText} or ${highText}`);
    return;
  }
  if (!lowOk) report(`${kind}.${gt !== undefined ? "gt" : "gte"}`, `${show(v)} must be ${lowText}`);
  if (!highOk) report(`${kind}.${lt !== undefined ? "lt" : "lte"}`, `${show(v)} must be ${highText}`);
}

/** RFC 7230 header names and values, as protoc-gen-validate defines them. */
const HEADER_REGEX: Record<string, { strict: RegExp; loose: RegExp }> = {
  HTTP_HEADER_NAME: { strict: /^:?[0-9a-zA-Z!#$%&'*+\-.^_|~`]+$/, loose: /^[^\0\n\r]*$/ },
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the rule is about control characters
  HTTP_HEADER_VALUE: { strict: /^[^\0-\x08\x0A-\x1F\x7F]*$/, loose: /^[^\0\n\r]*$/ },
};

function checkString(s: string, r: JsonObject, report: Report): void {
  const length = [...s].length;
  const bytes = Buffer.byteLength(s);
  if (r.ignore_empty === true && s === "") return;
  if (typeof r.const === "string" && s !== r.const) report("string.const", `"${s}" must equal "${r.const}"`);
  const len = num(r.len);
  if (len !== undefined && length !== len) report("string.len", `length ${length} must be ${len}`);
  const min = num(r.min_len);
  if (min !== undefined && length < min) report("string.min_len", `length ${length} is below ${min}`);
  const max = num(r.max_len);
  if (max !== undefined && length > max) report("string.max_len", `length ${length} is above ${max}`);
  const minBytes = num(r.min_bytes);
  if (minBytes !== undefined && bytes < minBytes)
    report("string.min_bytes", `${bytes} bytes, below ${minBytes}`);
  const maxBytes = num(r.max_bytes);
  if (maxBytes !== undefined && bytes > maxBytes)
    report("string.max_bytes", `${bytes} bytes, above ${maxBytes}`);
  for (const [key, ok] of [
    ["prefix", (p: string) => s.startsWith(p)],
    ["suffix", (p: string) => s.endsWith(p)],
    ["contains", (p: string) => s.includes(p)],
    ["not_contains", (p: string) => !s.includes(p)],
  ] as const) {
    const want = r[key];
    if (typeof want === "string" && !ok(want)) report(`string.${key}`, `"${s}" fails ${key} "${want}"`);
  }
  const ins = list(r.in);
  if (ins.length > 0 && !ins.includes(s)) report("string.in", `"${s}" is not one of ${ins.join(", ")}`);
  if (list(r.not_in).includes(s)) report("string.not_in", `"${s}" is not allowed`);
  const known = typeof r.well_known_regex === "string" ? HEADER_REGEX[r.well_known_regex] : undefined;
  if (known && !(r.strict === false ? known.loose : known.strict).test(s)) {
    report("string.well_known_regex", `"${s}" is not a valid ${r.well_known_regex}`);
  }
  if (typeof r.pattern === "string") {
    let re: RegExp | undefined;
    try {
      re = new RegExp(r.pattern, "u"); // RE2 syntax is close to JS; patterns JS rejects are skipped
    } catch {
      re = undefined;
    }
    if (re && !re.test(s)) report("string.pattern", `"${s}" does not match ${r.pattern}`);
  }
}

/** Checks a scalar (or the value inside a wrapper message) against its FieldRules JSON. */
export function checkScalarRules(
  scalar: ScalarType,
  value: unknown,
  rules: JsonObject,
  report: Report,
): void {
  const key = SCALAR_RULE_KEY[scalar];
  const r = objectAt(rules, key);
  if (!r) return;
  if (scalar === ScalarType.STRING) {
    checkString(String(value), r, report);
    return;
  }
  if (scalar === ScalarType.BOOL) {
    if (typeof r.const === "boolean" && value !== r.const) report("bool.const", `must be ${r.const}`);
    return;
  }
  if (scalar === ScalarType.BYTES) {
    const n = value instanceof Uint8Array ? value.length : 0;
    const min = num(r.min_len);
    if (min !== undefined && n < min) report("bytes.min_len", `${n} bytes, below ${min}`);
    const max = num(r.max_len);
    if (max !== undefined && n > max) report("bytes.max_len", `${n} bytes, above ${max}`);
    return;
  }
  // 64-bit values compare as doubles: exact for every value a config plausibly holds.
  const v = Number(value);
  if (r.ignore_empty === true && v === 0) return;
  checkOrdered(v, r, key, num, report, String);
}

/** Checks a set Duration (in nanoseconds) against `duration` rules. */
export function checkDurationRules(nanos: number, rules: JsonObject, report: Report): void {
  const r = objectAt(rules, "duration");
  if (!r) return;
  const parse = (j: JsonValue | undefined) => (typeof j === "string" ? durationNanos(j) : undefined);
  checkOrdered(nanos, r, "duration", parse, report, (n) => `${n / 1e9}s`);
}
