import { createHash } from "node:crypto";
import { parse, stringify } from "yaml";

/**
 * Go values and the template functions (text/template builtins, Sprig, Helm)
 * the chart uses, with Go's types modelled where Helm's behaviour depends on
 * them: values from YAML are float64 (JS number), integers from literals and
 * Sprig math are int64 (JS bigint), chart objects (.Release, .Chart, .Files)
 * are structs whose unknown fields are errors. Any other function name is an
 * error in the executor (go-exec.ts).
 */
export class GoStruct {
  constructor(readonly fields: Record<string, unknown>) {}
}

/** A template function; arguments are thunks so `and`/`or` can stop early, as Go 1.18+ does. */
export type Fn = (args: Array<() => unknown>) => unknown;

export const isMap = (v: unknown): v is Record<string, unknown> =>
  typeof v === "object" && v !== null && !Array.isArray(v) && !(v instanceof GoStruct);

/** Go's truth: false, 0, nil, and empty strings, lists and maps are false. */
export function truthy(v: unknown): boolean {
  if (v === null || v === undefined || v === false || v === "" || v === 0 || v === 0n) return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isMap(v)) return Object.keys(v).length > 0;
  return true;
}

/** Go's %v of a float64 (strconv 'g', shortest): exponent form below 1e-4 and from 1e6 (1e+06). */
export function goFloat(f: number): string {
  const [mant = "", e = "0"] = f.toExponential().split("e");
  const exp = Number(e);
  if (exp < -4 || exp >= 6) return `${mant}e${exp < 0 ? "-" : "+"}${String(Math.abs(exp)).padStart(2, "0")}`;
  return String(f);
}

/** How Go prints a value with {{ }} (Helm turns "<no value>" into ""). */
export function goPrint(v: unknown, where: string): string {
  if (v === null || v === undefined) return "";
  if (typeof v === "string") return v;
  if (typeof v === "bigint" || typeof v === "boolean") return String(v);
  if (typeof v === "number") return goFloat(v);
  throw new Error(`${where}: printing a ${Array.isArray(v) ? "list" : "map"} (Helm would print Go syntax)`);
}

type Kind = "bool" | "int" | "float" | "string" | "nil" | "other";
export const kindOf = (v: unknown): Kind =>
  v === null || v === undefined
    ? "nil"
    : typeof v === "boolean"
      ? "bool"
      : typeof v === "bigint"
        ? "int"
        : typeof v === "number"
          ? "float"
          : typeof v === "string"
            ? "string"
            : "other";

/** text/template's eq: mismatched basic kinds are an error, nil is unequal to anything but itself. */
function goEq(a: unknown, b: unknown): boolean {
  const ka = kindOf(a);
  const kb = kindOf(b);
  if (ka === "nil" || kb === "nil") return ka === kb;
  if (ka !== kb) throw new Error(`eq: incompatible types for comparison (${ka} and ${kb})`);
  if (ka === "other") throw new Error("eq: invalid type for comparison");
  return a === b;
}

/** text/template's lt/gt: numbers or strings of one kind. */
function compare(a: unknown, b: unknown): number {
  const ka = kindOf(a);
  if (ka !== kindOf(b) || !["int", "float", "string"].includes(ka)) {
    throw new Error(`incompatible types for comparison (${ka} and ${kindOf(b)})`);
  }
  return (a as number) < (b as number) ? -1 : (a as number) > (b as number) ? 1 : 0;
}

/** Sprig's toInt64 (cast.ToInt64): floats truncate, strings parse, nil is 0. */
function toInt(v: unknown): bigint {
  if (typeof v === "bigint") return v;
  if (typeof v === "number") return BigInt(Math.trunc(v));
  if (typeof v === "string") return /^-?\d+$/.test(v) ? BigInt(v) : 0n;
  if (typeof v === "boolean") return v ? 1n : 0n;
  return 0n;
}

/** Sprig's strval. */
const strval = (v: unknown): string => (typeof v === "string" ? v : goPrint(v, "strval"));

/** Helm's toYaml: sigs.k8s.io/yaml.Marshal (YAML 1.1 quoting, sorted keys), trailing newline trimmed. */
function toYaml(v: unknown): string {
  const plain = JSON.parse(JSON.stringify(v ?? null, (_k, x) => (typeof x === "bigint" ? Number(x) : x)));
  return stringify(plain, { version: "1.1", sortMapEntries: true, lineWidth: 0 }).replace(/\n$/, "");
}

const indent = (n: bigint, s: string) => {
  const pad = " ".repeat(Number(n));
  return pad + s.replaceAll("\n", `\n${pad}`);
};

export const all = (args: Array<() => unknown>) => args.map((a) => a());
const fn1 =
  (f: (...v: unknown[]) => unknown): Fn =>
  (args) =>
    f(...all(args));

export const FUNCS: Record<string, Fn> = {
  required: fn1((msg, v) => {
    if (v === null || v === undefined || v === "") throw new Error(`required: ${String(msg)}`);
    return v;
  }),
  fail: fn1((msg) => {
    throw new Error(`fail: ${String(msg)}`);
  }),
  default: fn1((d, ...given) => (given.length === 0 || !truthy(given[0]) ? d : given[0])),
  empty: fn1((v) => !truthy(v)),
  quote: fn1((...vs) =>
    vs
      .filter((v) => v !== null && v !== undefined)
      .map((v) => JSON.stringify(strval(v)))
      .join(" "),
  ),
  toYaml: fn1(toYaml),
  indent: fn1((n, s) => indent(toInt(n), String(s))),
  nindent: fn1((n, s) => `\n${indent(toInt(n), String(s))}`),
  trunc: fn1((n, s) => {
    const str = String(s);
    const c = Number(toInt(n));
    return c >= 0 ? str.slice(0, c) : str.slice(Math.max(0, str.length + c));
  }),
  trimSuffix: fn1((suffix, s) =>
    String(s).endsWith(String(suffix)) ? String(s).slice(0, -String(suffix).length || undefined) : s,
  ),
  replace: fn1((from, to, s) => String(s).replaceAll(String(from), String(to))),
  contains: fn1((sub, s) => String(s).includes(String(sub))),
  printf: fn1((format, ...vs) => {
    let i = 0;
    return String(format).replace(/%([sdvq%])/g, (_m, verb: string) => {
      if (verb === "%") return "%";
      const v = vs[i++];
      if (verb === "d" && typeof v !== "bigint") throw new Error(`printf: %d of ${kindOf(v)}`);
      return verb === "q" ? JSON.stringify(strval(v)) : goPrint(v, "printf");
    });
  }),
  sha256sum: fn1((s) => createHash("sha256").update(String(s)).digest("hex")),
  int: fn1(toInt),
  add: fn1((...vs) => vs.reduce<bigint>((a, v) => a + toInt(v), 0n)),
  sub: fn1((a, b) => toInt(a) - toInt(b)),
  mul: fn1((...vs) => vs.reduce<bigint>((a, v) => a * toInt(v), 1n)),
  div: fn1((a, b) => toInt(a) / toInt(b)),
  max: fn1((...vs) => {
    let m = toInt(vs[0]);
    for (const v of vs) if (toInt(v) > m) m = toInt(v);
    return m;
  }),
  len: fn1((v) => BigInt(Array.isArray(v) ? v.length : isMap(v) ? Object.keys(v).length : String(v).length)),
  eq: fn1((a, ...bs) => bs.some((b) => goEq(a, b))),
  ne: fn1((a, b) => !goEq(a, b)),
  not: fn1((v) => !truthy(v)),
  // Go 1.18+: and/or stop at the first deciding operand and return it.
  and: (args) => {
    let v: unknown = true;
    for (const a of args) {
      v = a();
      if (!truthy(v)) return v;
    }
    return v;
  },
  or: (args) => {
    let v: unknown = false;
    for (const a of args) {
      v = a();
      if (truthy(v)) return v;
    }
    return v;
  },
  dict: fn1((...kv) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < kv.length; i += 2) out[strval(kv[i])] = i + 1 < kv.length ? kv[i + 1] : "";
    return out;
  }),
  list: fn1((...vs) => vs),
  // text/template's index: a missing map key is nil, an index out of range an error.
  index: fn1((c, ...keys) =>
    keys.reduce((cur, k) => {
      if (Array.isArray(cur)) {
        const i = Number(toInt(k));
        if (typeof k !== "bigint" || i < 0 || i >= cur.length)
          throw new Error(`index out of range: ${String(k)}`);
        return cur[i];
      }
      if (isMap(cur)) return Object.hasOwn(cur, String(k)) ? cur[String(k)] : undefined;
      throw new Error(`can't index item of type ${kindOf(cur)}`);
    }, c),
  ),
  ternary: fn1((yes, no, cond) => (cond === true ? yes : no)),
  gt: fn1((a, b) => compare(a, b) > 0),
  lt: fn1((a, b) => compare(a, b) < 0),
  // Helm's fromYaml: a map (an "Error" key instead of failing on bad YAML).
  fromYaml: fn1((s) => {
    try {
      const v: unknown = parse(String(s), { version: "1.1" });
      return isMap(v) ? v : {};
    } catch (err) {
      return { Error: (err as Error).message };
    }
  }),
  hasKey: fn1((m, k) => isMap(m) && Object.hasOwn(m, String(k))),
};
