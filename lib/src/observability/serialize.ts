/** A JSON-compatible value, as the generated files hold. */
export type DataValue =
  | string
  | number
  | boolean
  | null
  | readonly DataValue[]
  | { readonly [key: string]: DataValue };

const isMap = (v: DataValue): v is { readonly [key: string]: DataValue } =>
  typeof v === "object" && v !== null && !Array.isArray(v);

// YAML 1.1 (what Prometheus' gopkg.in/yaml.v2 reads) turns these plain words into booleans or null.
const RESERVED = /^(y|n|yes|no|on|off|true|false|null|~)$/i;
const PLAIN = /^([A-Za-z_][A-Za-z0-9_./-]*|[0-9]+[smhdwy])$/;
// Printable without escapes: single quotes then only need doubling.
const PRINTABLE = /^[^\p{Cc}\p{Cs}]*$/u;

function yamlScalar(v: DataValue): string {
  if (typeof v !== "string") return JSON.stringify(v);
  if (PLAIN.test(v) && !RESERVED.test(v)) return v;
  return PRINTABLE.test(v) ? `'${v.replaceAll("'", "''")}'` : JSON.stringify(v);
}

function yamlEntry(prefix: string, v: DataValue, indent: string): string[] {
  const inner = `${indent}  `;
  if (isMap(v) && Object.keys(v).length > 0) return [prefix, ...yamlMap(v, inner)];
  if (Array.isArray(v) && v.length > 0) return [prefix, ...yamlSeq(v, inner)];
  if (typeof v === "string" && v.includes("\n")) {
    if (/^\s/.test(v) || /[ \t]$/m.test(v)) throw new Error(`block text with edge whitespace: ${v}`);
    return [`${prefix} |-`, ...v.split("\n").map((line) => `${inner}${line}`)];
  }
  const empty = isMap(v) ? "{}" : Array.isArray(v) ? "[]" : yamlScalar(v);
  return [`${prefix} ${empty}`];
}

function yamlMap(map: { readonly [key: string]: DataValue }, indent: string): string[] {
  return Object.entries(map).flatMap(([k, v]) => yamlEntry(`${indent}${yamlScalar(k)}:`, v, indent));
}

function yamlSeq(items: readonly DataValue[], indent: string): string[] {
  return items.flatMap((item) => {
    if (isMap(item) && Object.keys(item).length > 0) {
      const lines = yamlMap(item, `${indent}  `);
      lines[0] = `${indent}- ${(lines[0] as string).slice(indent.length + 2)}`;
      return lines;
    }
    return yamlEntry(`${indent}-`, item, indent);
  });
}

/**
 * YAML for a JSON-compatible value: block style, plain scalars only where
 * YAML 1.1 cannot misread them, multi-line strings (PromQL) as literal
 * blocks. `header` lines become `#` comments at the top.
 */
export function toYaml(value: { readonly [key: string]: DataValue }, header: readonly string[] = []): string {
  return `${[...header.map((h) => `# ${h}`.trimEnd()), ...yamlMap(value, "")].join("\n")}\n`;
}

const LINE_WIDTH = 110;

function jsonValue(v: DataValue, indent: string, column: number): string {
  if (Array.isArray(v)) {
    if (v.length === 0) return "[]";
    const inner = `${indent}  `;
    if (v.every((x) => !isMap(x) && !Array.isArray(x))) {
      const inline = `[${v.map((x) => JSON.stringify(x)).join(", ")}]`;
      if (column + inline.length + 1 <= LINE_WIDTH) return inline;
    }
    return `[\n${v.map((x) => `${inner}${jsonValue(x, inner, inner.length)}`).join(",\n")}\n${indent}]`;
  }
  if (isMap(v)) {
    const entries = Object.entries(v);
    if (entries.length === 0) return "{}";
    const inner = `${indent}  `;
    const lines = entries.map(([k, x]) => {
      const key = `${JSON.stringify(k)}: `;
      return `${inner}${key}${jsonValue(x, inner, inner.length + key.length)}`;
    });
    return `{\n${lines.join(",\n")}\n${indent}}`;
  }
  return JSON.stringify(v);
}

/**
 * JSON laid out as the repository's formatter (Biome, 110 columns) lays it
 * out: objects expanded, arrays of scalars on one line when they fit. So
 * `biome check` leaves generated JSON alone.
 */
export function toFormattedJson(value: DataValue): string {
  return `${jsonValue(value, "", 0)}\n`;
}
