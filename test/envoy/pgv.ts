/**
 * A protoc-gen-validate evaluator over protobuf-es reflection: reads the
 * `(validate.rules)`, `(validate.required)` and `(validate.disabled)` options
 * from the descriptors and checks a decoded message against them, recursing
 * into sub-messages, lists, maps and every `google.protobuf.Any` (through the
 * registry, so each `typed_config` is checked as its own type).
 *
 * Covered: string length/bytes/prefix/suffix/contains/in/header regexes,
 * numeric const/in/gt/gte/lt/lte (also inside wrapper messages), enum
 * defined_only/in/not_in, message required/skip, oneof required, repeated
 * min/max_items and item rules, map min/max_pairs, Any required/in, duration
 * required/gt/gte/lt/lte. Not covered: email/hostname/ip/uri formats,
 * timestamp rules, repeated `unique`.
 * Deprecated fields and enum values in use are reported too (rule
 * `deprecated`): Envoy warns on them and rejects some by default.
 */
import {
  type DescEnum,
  type DescExtension,
  type DescField,
  type DescMessage,
  type DescOneof,
  getOption,
  hasOption,
  isMessage,
  type JsonObject,
  type Registry,
  type ScalarType,
  toJson,
} from "@bufbuild/protobuf";
import { type ReflectList, type ReflectMap, type ReflectMessage, reflect } from "@bufbuild/protobuf/reflect";
import { type Any, anyUnpack, FeatureSet_FieldPresence } from "@bufbuild/protobuf/wkt";
import { checkDurationRules, checkScalarRules, objectAt, type Report } from "./pgv-values.js";

/** One broken rule: where (proto field path), which rule, and why. */
export interface RuleViolation {
  path: string;
  rule: string;
  message: string;
}

type ElementKind =
  | { kind: "scalar"; scalar: ScalarType }
  | { kind: "enum"; enum: DescEnum }
  | { kind: "message"; message: DescMessage };

const WRAPPERS = new Set(
  ["Double", "Float", "Int64", "UInt64", "Int32", "UInt32", "Bool", "String", "Bytes"].map(
    (t) => `google.protobuf.${t}Value`,
  ),
);

function elementKind(field: DescField): ElementKind {
  const kind =
    field.fieldKind === "list" ? field.listKind : field.fieldKind === "map" ? field.mapKind : field.fieldKind;
  if (kind === "message" && field.message) return { kind, message: field.message };
  if (kind === "enum" && field.enum) return { kind, enum: field.enum };
  if (field.scalar !== undefined) return { kind: "scalar", scalar: field.scalar };
  throw new Error(`field ${field.toString()} has no element type`);
}

/** Validates messages against their protoc-gen-validate rules. */
export interface PgvValidator {
  /** Every violation in `message` (of type `desc`) and everything it contains. */
  validate(desc: DescMessage, message: ReflectMessage["message"]): RuleViolation[];
}

/** A validator reading the rule options through `registry` (which must hold validate/validate.proto). */
export function createPgvValidator(registry: Registry): PgvValidator {
  const ext = (name: string): DescExtension => {
    const e = registry.getExtension(name);
    if (!e) throw new Error(`registry has no extension ${name}`);
    return e;
  };
  const rulesExt = ext("validate.rules");
  const requiredExt = ext("validate.required");
  const disabledExt = ext("validate.disabled");
  const fieldRulesDesc = registry.getMessage("validate.FieldRules");
  if (!fieldRulesDesc) throw new Error("registry has no validate.FieldRules");
  const cache = new Map<DescField, JsonObject | undefined>();
  const flags = new Map<DescMessage | DescOneof, boolean>();
  /** A boolean option (`validate.disabled` on messages, `validate.required` on oneofs), cached. */
  const flag = (element: DescMessage | DescOneof): boolean => {
    let value = flags.get(element);
    if (value === undefined) {
      const option = element.kind === "message" ? disabledExt : requiredExt;
      value = hasOption(element, option) && getOption(element, option) === true;
      flags.set(element, value);
    }
    return value;
  };

  const rulesOf = (field: DescField): JsonObject | undefined => {
    if (cache.has(field)) return cache.get(field);
    let rules: JsonObject | undefined;
    if (hasOption(field, rulesExt)) {
      const value = getOption(field, rulesExt);
      if (isMessage(value)) rules = toJson(fieldRulesDesc, value, { useProtoFieldName: true }) as JsonObject;
    }
    cache.set(field, rules);
    return rules;
  };

  function validate(desc: DescMessage, message: ReflectMessage["message"]): RuleViolation[] {
    const out: RuleViolation[] = [];
    walk(reflect(desc, message), "", out);
    return out;
  }

  function walk(msg: ReflectMessage, path: string, out: RuleViolation[]): void {
    if (flag(msg.desc)) return;
    const at =
      (p: string): Report =>
      (rule, message) =>
        out.push({ path: p || "(root)", rule, message });
    for (const oneof of msg.desc.oneofs) {
      if (flag(oneof) && !msg.oneofCase(oneof)) {
        const names = oneof.fields.map((f) => f.name).join(", ");
        at(path)("oneof.required", `one of ${names} is required (${oneof.name})`);
      }
    }
    for (const field of msg.desc.fields) {
      const fpath = path ? `${path}.${field.name}` : field.name;
      const report = at(fpath);
      const rules = rulesOf(field);
      if (field.proto.options?.deprecated === true && msg.isSet(field)) {
        report("deprecated", `${field.toString()} is deprecated`);
      }
      if (field.oneof && msg.oneofCase(field.oneof) !== field) continue; // rules apply to the set case only
      const kind = elementKind(field);
      if (field.fieldKind === "list") {
        const items = msg.get(field) as ReflectList;
        const r = objectAt(rules, "repeated");
        if (r && !(r.ignore_empty === true && items.size === 0)) {
          const min = Number(r.min_items ?? 0);
          const max = r.max_items === undefined ? Infinity : Number(r.max_items);
          if (items.size < min) report("repeated.min_items", `${items.size} items, at least ${min} required`);
          if (items.size > max) report("repeated.max_items", `${items.size} items, at most ${max} allowed`);
        }
        const itemRules = objectAt(r, "items");
        let i = 0;
        for (const item of items) checkValue(kind, item, itemRules, `${fpath}[${i++}]`, out);
      } else if (field.fieldKind === "map") {
        const entries = msg.get(field) as ReflectMap;
        const r = objectAt(rules, "map");
        if (r && !(r.ignore_empty === true && entries.size === 0)) {
          const min = Number(r.min_pairs ?? 0);
          if (entries.size < min)
            report("map.min_pairs", `${entries.size} entries, at least ${min} required`);
        }
        for (const [key, value] of entries) {
          checkValue(kind, value, objectAt(r, "values"), `${fpath}[${String(key)}]`, out);
        }
      } else if (field.fieldKind === "message") {
        if (!msg.isSet(field)) {
          const required = ["message", "duration", "any", "timestamp"].some(
            (k) => objectAt(rules, k)?.required === true,
          );
          if (required) report("message.required", `${field.name} is required`);
          continue;
        }
        checkValue(kind, msg.get(field), rules, fpath, out);
      } else {
        if (field.presence === FeatureSet_FieldPresence.EXPLICIT && !msg.isSet(field)) continue;
        checkValue(kind, msg.get(field), rules, fpath, out);
      }
    }
  }

  function checkValue(
    kind: ElementKind,
    value: unknown,
    rules: JsonObject | undefined,
    path: string,
    out: RuleViolation[],
  ): void {
    const report: Report = (rule, message) => out.push({ path, rule, message });
    if (kind.kind === "scalar") {
      if (rules) checkScalarRules(kind.scalar, value, rules, report);
      return;
    }
    if (kind.kind === "enum") {
      const n = Number(value);
      const defined = kind.enum.values.find((v) => v.number === n);
      const r = objectAt(rules, "enum");
      if (r?.defined_only === true && !defined)
        report("enum.defined_only", `${n} is not a ${kind.enum.typeName}`);
      const ins = Array.isArray(r?.in) ? r.in.map(Number) : [];
      if (ins.length > 0 && !ins.includes(n)) report("enum.in", `${defined?.name ?? n} is not allowed here`);
      if (Array.isArray(r?.not_in) && r.not_in.map(Number).includes(n))
        report("enum.not_in", `${n} is not allowed`);
      if (defined?.proto.options?.deprecated === true) report("deprecated", `${defined.name} is deprecated`);
      return;
    }
    const sub = value as ReflectMessage;
    const typeName = kind.message.typeName;
    if (rules && WRAPPERS.has(typeName)) {
      const inner = sub.desc.fields[0];
      if (inner?.fieldKind === "scalar") checkScalarRules(inner.scalar, sub.get(inner), rules, report);
    } else if (rules && typeName === "google.protobuf.Duration") {
      const d = sub.message as unknown as { seconds: bigint; nanos: number };
      checkDurationRules(Number(d.seconds) * 1e9 + d.nanos, rules, report);
    } else if (typeName === "google.protobuf.Any") {
      const any = sub.message as Any;
      const r = objectAt(rules, "any");
      const ins = Array.isArray(r?.in) ? r.in : [];
      if (ins.length > 0 && !ins.includes(any.typeUrl))
        report("any.in", `${any.typeUrl} is not allowed here`);
      const desc = registry.getMessage(any.typeUrl.slice(any.typeUrl.lastIndexOf("/") + 1));
      const unpacked = desc ? anyUnpack(any, registry) : undefined;
      if (!desc || !unpacked) report("any.type", `no descriptor for ${any.typeUrl}`);
      else walk(reflect(desc, unpacked), `${path}<${desc.name}>`, out);
      return;
    }
    if (objectAt(rules, "message")?.skip === true) return;
    walk(sub, path, out);
  }

  return { validate };
}
