/**
 * google.api.http path templates (see proto/google/api/http.proto):
 *
 *   Template = "/" Segments [ Verb ] ;
 *   Segments = Segment { "/" Segment } ;
 *   Segment  = "*" | "**" | LITERAL | Variable ;
 *   Variable = "{" FieldPath [ "=" Segments ] "}" ;
 *   Verb     = ":" LITERAL ;
 *
 * `{id}` is `{id=*}`: one path segment. `**` (zero or more segments) may only
 * come last. Matching works on the raw (still percent-encoded) path, so an
 * encoded "/" (%2F) stays inside its segment.
 */

type Segment =
  | { kind: "literal"; value: string; variable: number }
  | { kind: "one"; variable: number }
  | { kind: "rest"; variable: number };

export interface PathTemplate {
  /** The template as written in the annotation. */
  source: string;
  segments: Segment[];
  /** Field paths of the variables, in order of appearance (e.g. "org_id"). */
  variables: string[];
  verb: string | undefined;
  /** Literal segments count: more literals means a more specific template. */
  literals: number;
}

export class TemplateError extends Error {}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*$/;
// Characters allowed in literals: unreserved plus sub-delims minus the ones with template meaning.
const LITERAL = /^[A-Za-z0-9\-._~!$&'()+,;@%]+$/;

function parseSegments(text: string, variable: number, out: Segment[], source: string): void {
  for (const part of text.split("/")) {
    if (part === "*") out.push({ kind: "one", variable });
    else if (part === "**") out.push({ kind: "rest", variable });
    else if (LITERAL.test(part)) out.push({ kind: "literal", value: part, variable });
    else throw new TemplateError(`path template ${source}: bad segment "${part}"`);
  }
}

export function parseTemplate(source: string): PathTemplate {
  if (!source.startsWith("/")) throw new TemplateError(`path template ${source} must start with "/"`);
  const segments: Segment[] = [];
  const variables: string[] = [];
  let rest = source.slice(1);
  let verb: string | undefined;
  // The verb is a ":" after the last "/" and outside any variable.
  const lastSlash = rest.lastIndexOf("/");
  const lastBrace = rest.lastIndexOf("}");
  const colon = rest.indexOf(":", Math.max(lastSlash, lastBrace) + 1);
  if (colon >= 0) {
    verb = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!LITERAL.test(verb)) throw new TemplateError(`path template ${source}: bad verb "${verb}"`);
  }
  let i = 0;
  while (i <= rest.length) {
    if (rest[i] === "{") {
      const close = rest.indexOf("}", i);
      if (close < 0) throw new TemplateError(`path template ${source}: unclosed "{"`);
      const inner = rest.slice(i + 1, close);
      const eq = inner.indexOf("=");
      const field = eq < 0 ? inner : inner.slice(0, eq);
      if (!IDENT.test(field)) throw new TemplateError(`path template ${source}: bad field path "${field}"`);
      if (variables.includes(field)) throw new TemplateError(`path template ${source}: ${field} bound twice`);
      variables.push(field);
      parseSegments(eq < 0 ? "*" : inner.slice(eq + 1), variables.length - 1, segments, source);
      i = close + 1;
    } else {
      let end = rest.indexOf("/", i);
      if (end < 0) end = rest.length;
      parseSegments(rest.slice(i, end), -1, segments, source);
      i = end;
    }
    if (i < rest.length && rest[i] !== "/") throw new TemplateError(`path template ${source}: expected "/"`);
    i++;
  }
  const restAt = segments.findIndex((s) => s.kind === "rest");
  if (restAt >= 0 && restAt !== segments.length - 1) {
    throw new TemplateError(`path template ${source}: "**" must be the last segment`);
  }
  const literals = segments.filter((s) => s.kind === "literal").length;
  return { source, segments, variables, verb, literals };
}

/** Decodes one raw segment; a multi-segment variable keeps %2F encoded, as the spec asks. */
function decodeSegment(raw: string, keepSlash: boolean): string {
  if (!keepSlash) return decodeURIComponent(raw);
  return raw.split(/%2F/i).map(decodeURIComponent).join("%2F");
}

export type MatchResult = { values: Map<string, string> } | { error: string } | undefined;

/**
 * Matches a raw request path (no query string) against the template and
 * returns the decoded variable values, an error for malformed encoding, or
 * undefined when the path does not match.
 */
export function matchTemplate(t: PathTemplate, rawPath: string): MatchResult {
  if (!rawPath.startsWith("/")) return undefined;
  let path = rawPath.slice(1);
  if (t.verb !== undefined) {
    if (!path.endsWith(`:${t.verb}`)) return undefined;
    path = path.slice(0, -(t.verb.length + 1));
  }
  const parts = path.split("/");
  const captured: string[][] = t.variables.map(() => []);
  const last = t.segments[t.segments.length - 1];
  const hasRest = last?.kind === "rest";
  if (hasRest ? parts.length < t.segments.length - 1 : parts.length !== t.segments.length) return undefined;
  try {
    for (let i = 0; i < t.segments.length; i++) {
      const seg = t.segments[i] as Segment;
      if (seg.kind === "rest") {
        const tail = parts.slice(i);
        if (seg.variable >= 0) captured[seg.variable]?.push(...tail.map((p) => decodeSegment(p, true)));
        break;
      }
      const part = parts[i] as string;
      if (part === "") return undefined;
      if (seg.kind === "literal" && part !== seg.value) return undefined;
      if (seg.variable >= 0) {
        const multi = t.segments.filter((s) => s.variable === seg.variable).length > 1;
        captured[seg.variable]?.push(decodeSegment(part, multi));
      }
    }
  } catch {
    return { error: `malformed percent-encoding in path ${rawPath}` };
  }
  const values = new Map<string, string>();
  t.variables.forEach((field, n) => {
    values.set(field, (captured[n] ?? []).join("/"));
  });
  return { values };
}
