/**
 * Parser for the subset of Go's text/template the chart uses. Anything outside
 * the subset (`template`, `block`, method calls other than those the context
 * provides, `(pipe).Field`, …) is a parse error, never a silent guess: this is a
 * test tool that must not accept what Helm would render differently.
 */

export type Operand =
  | { kind: "field"; path: string[] } // .A.B (path [] is the dot itself)
  | { kind: "var"; name: string; path: string[] } // $x.A.B ("$" is the root)
  | { kind: "lit"; value: unknown }
  | { kind: "ident"; name: string } // a function name
  | { kind: "pipe"; pipe: Pipeline }; // ( … )

export interface Pipeline {
  /** `$a :=` declares, `$a =` assigns; range takes `$i, $v :=`. */
  decl: string[];
  assign: boolean;
  cmds: Operand[][];
}

export type Node =
  | { kind: "text"; text: string }
  | { kind: "action"; pipe: Pipeline; where: string }
  | { kind: "if" | "with" | "range"; pipe: Pipeline; body: Node[]; orElse: Node[]; where: string };

export interface Parsed {
  nodes: Node[];
  defines: Map<string, Node[]>;
}

type Token = { t: "text"; text: string } | { t: "action"; body: string; where: string };

const SPACE = /[ \t\r\n]/;

/** Splits text and actions, applying `{{- ` / ` -}}` trimming and dropping comments. */
function lex(source: string, name: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  let trimNext = false;
  const lineAt = (pos: number) => source.slice(0, pos).split("\n").length;
  while (i < source.length) {
    const open = source.indexOf("{{", i);
    let text = source.slice(i, open === -1 ? source.length : open);
    if (trimNext) text = text.replace(/^[ \t\r\n]+/, "");
    trimNext = false;
    if (open === -1) {
      out.push({ t: "text", text });
      break;
    }
    let j = open + 2;
    if (source[j] === "-" && SPACE.test(source[j + 1] ?? "")) {
      text = text.replace(/[ \t\r\n]+$/, "");
      j += 2;
    }
    out.push({ t: "text", text });
    const where = `${name}:${lineAt(open)}`;
    const { end, body } = scanAction(source, j, where);
    let close = end; // index of "}}"
    let inner = body;
    if (/[ \t\r\n]-$/.test(inner)) {
      trimNext = true;
      inner = inner.slice(0, -2);
    }
    inner = inner.trim();
    if (inner.startsWith("/*")) {
      if (!inner.endsWith("*/")) throw new Error(`${where}: unterminated comment`);
    } else {
      out.push({ t: "action", body: inner, where });
    }
    close += 2;
    i = close;
  }
  return out;
}

/** Finds the `}}` closing an action, skipping string literals and comments. */
function scanAction(src: string, from: number, where: string): { end: number; body: string } {
  let k = from;
  while (k < src.length) {
    const c = src[k];
    if (src.startsWith("/*", k)) {
      const e = src.indexOf("*/", k + 2);
      if (e === -1) throw new Error(`${where}: unterminated comment`);
      k = e + 2;
    } else if (c === '"') {
      k++;
      while (k < src.length && src[k] !== '"') k += src[k] === "\\" ? 2 : 1;
      k++;
    } else if (c === "`") {
      k = src.indexOf("`", k + 1) + 1;
      if (k === 0) throw new Error(`${where}: unterminated raw string`);
    } else if (src.startsWith("}}", k)) {
      return { end: k, body: src.slice(from, k) };
    } else {
      k++;
    }
  }
  throw new Error(`${where}: unclosed action`);
}

const TOKEN =
  /\s*(?:("(?:[^"\\]|\\.)*")|(`[^`]*`)|(-?\d+(?:\.\d+)?)(?![\w.])|(\$[A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*)|((?:\.[A-Za-z_][A-Za-z0-9_]*)+|\.)|([A-Za-z_][A-Za-z0-9_]*)|(:=|=|\||\(|\)|,))/y;

/** A word of an action; `spaced` when whitespace precedes it (`(x).F` differs from `(x) .F`). */
type Word = { w: "str" | "num" | "var" | "field" | "ident" | "punct"; v: string; spaced?: boolean };

function words(body: string, where: string): Word[] {
  const out: Word[] = [];
  TOKEN.lastIndex = 0;
  while (TOKEN.lastIndex < body.length) {
    if (/^\s*$/.test(body.slice(TOKEN.lastIndex))) break;
    const at = TOKEN.lastIndex;
    const m = TOKEN.exec(body);
    if (!m) throw new Error(`${where}: cannot parse "${body.slice(at)}"`);
    const spaced = /^\s/.test(m[0]);
    if (m[1] !== undefined) out.push({ w: "str", v: JSON.parse(m[1]) as string, spaced });
    else if (m[2] !== undefined) out.push({ w: "str", v: m[2].slice(1, -1), spaced });
    else if (m[3] !== undefined) out.push({ w: "num", v: m[3], spaced });
    else if (m[4] !== undefined) out.push({ w: "var", v: m[4], spaced });
    else if (m[5] !== undefined) out.push({ w: "field", v: m[5], spaced });
    else if (m[6] !== undefined) out.push({ w: "ident", v: m[6], spaced });
    else if (m[7] !== undefined) out.push({ w: "punct", v: m[7], spaced });
  }
  return out;
}

/** A pipeline: optional declaration, then commands separated by `|`. */
function parsePipeline(ws: Word[], where: string): Pipeline {
  let pos = 0;
  const decl: string[] = [];
  let assign = false;
  const declEnd = ws.findIndex((w) => w.w === "punct" && (w.v === ":=" || w.v === "="));
  if (
    declEnd !== -1 &&
    ws.slice(0, declEnd).every((w) => w.w === "var" || (w.w === "punct" && w.v === ","))
  ) {
    for (const w of ws.slice(0, declEnd)) if (w.w === "var") decl.push(w.v);
    assign = ws[declEnd]?.v === "=";
    pos = declEnd + 1;
  }
  const [pipe, next] = parseCommands(ws, pos, where);
  if (next !== ws.length) throw new Error(`${where}: unexpected "${ws[next]?.v}"`);
  return { decl, assign, cmds: pipe };
}

function parseCommands(ws: Word[], start: number, where: string): [Operand[][], number] {
  const cmds: Operand[][] = [[]];
  let pos = start;
  while (pos < ws.length) {
    const w = ws[pos] as Word;
    if (w.w === "punct" && w.v === ")") break;
    pos++;
    const cmd = cmds[cmds.length - 1] as Operand[];
    if (w.w === "punct" && w.v === "|") {
      if (cmd.length === 0) throw new Error(`${where}: empty command before |`);
      cmds.push([]);
    } else if (w.w === "punct" && w.v === "(") {
      const [inner, after] = parseCommands(ws, pos, where);
      if (ws[after]?.v !== ")") throw new Error(`${where}: unclosed (`);
      const next = ws[after + 1];
      if (next?.w === "field" && !next.spaced) throw new Error(`${where}: (pipeline).Field is not supported`);
      cmd.push({ kind: "pipe", pipe: { decl: [], assign: false, cmds: inner } });
      pos = after + 1;
    } else if (w.w === "str") cmd.push({ kind: "lit", value: w.v });
    else if (w.w === "num") cmd.push({ kind: "lit", value: w.v.includes(".") ? Number(w.v) : BigInt(w.v) });
    else if (w.w === "var") {
      const [name = "$", ...path] = w.v.split(".");
      cmd.push({ kind: "var", name, path });
    } else if (w.w === "field") cmd.push({ kind: "field", path: w.v === "." ? [] : w.v.slice(1).split(".") });
    else if (w.w === "ident" && (w.v === "true" || w.v === "false"))
      cmd.push({ kind: "lit", value: w.v === "true" });
    else if (w.w === "ident" && w.v === "nil") cmd.push({ kind: "lit", value: null });
    else if (w.w === "ident") cmd.push({ kind: "ident", name: w.v });
    else throw new Error(`${where}: unexpected "${w.v}"`);
  }
  if (cmds.some((c) => c.length === 0)) throw new Error(`${where}: empty pipeline`);
  return [cmds, pos];
}

/** Parses a template file: its nodes and the `define`s it declares. */
export function parseTemplate(source: string, name: string): Parsed {
  const tokens = lex(source, name);
  const defines = new Map<string, Node[]>();
  let pos = 0;

  /** Parses nodes until an `else` or `end` (returned, not consumed past). */
  const parseList = (): { nodes: Node[]; stop?: { word: string; rest: Word[]; where: string } } => {
    const nodes: Node[] = [];
    while (pos < tokens.length) {
      const tok = tokens[pos++] as Token;
      if (tok.t === "text") {
        if (tok.text) nodes.push({ kind: "text", text: tok.text });
        continue;
      }
      const ws = words(tok.body, tok.where);
      const head = ws[0];
      const keyword = head?.w === "ident" ? head.v : "";
      if (keyword === "end" || keyword === "else") {
        return { nodes, stop: { word: keyword, rest: ws.slice(1), where: tok.where } };
      }
      if (keyword === "if" || keyword === "with" || keyword === "range") {
        nodes.push(parseControl(keyword, ws.slice(1), tok.where));
      } else if (keyword === "define") {
        const nameWord = ws[1];
        if (nameWord?.w !== "str" || ws.length !== 2) throw new Error(`${tok.where}: define needs a name`);
        const body = parseList();
        if (body.stop?.word !== "end") throw new Error(`${tok.where}: define without end`);
        defines.set(nameWord.v, body.nodes);
      } else if (["template", "block", "break", "continue"].includes(keyword)) {
        throw new Error(`${tok.where}: "${keyword}" is outside the supported subset (use include)`);
      } else {
        nodes.push({ kind: "action", pipe: parsePipeline(ws, tok.where), where: tok.where });
      }
    }
    return { nodes };
  };

  const parseControl = (kind: "if" | "with" | "range", ws: Word[], where: string): Node => {
    const pipe = parsePipeline(ws, where);
    const body = parseList();
    if (!body.stop) throw new Error(`${where}: ${kind} without end`);
    let orElse: Node[] = [];
    if (body.stop.word === "else") {
      const chained = body.stop.rest[0];
      if (chained?.w === "ident" && (chained.v === "if" || chained.v === "with")) {
        // `else if` / `else with`: a nested control sharing the outer `end`.
        orElse = [parseControl(chained.v, body.stop.rest.slice(1), body.stop.where)];
        return { kind, pipe, body: body.nodes, orElse, where };
      }
      if (body.stop.rest.length > 0) throw new Error(`${body.stop.where}: unexpected words after else`);
      const tail = parseList();
      if (tail.stop?.word !== "end") throw new Error(`${where}: ${kind} … else without end`);
      orElse = tail.nodes;
    }
    return { kind, pipe, body: body.nodes, orElse, where };
  };

  const top = parseList();
  if (top.stop) throw new Error(`${top.stop.where}: unexpected ${top.stop.word}`);
  return { nodes: top.nodes, defines };
}
