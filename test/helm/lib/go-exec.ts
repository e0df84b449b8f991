import { all, FUNCS, GoStruct, goPrint, isMap, kindOf, truthy } from "./go-funcs.js";
import type { Node, Operand, Parsed, Pipeline } from "./go-template.js";

type Scope = Map<string, unknown>;

/**
 * Executes parsed templates the way Helm 3 does: `include` of the chart's
 * defines (shared across all files of a chart), the functions of go-funcs.ts
 * (any other name is an error), scoped variables, a missing map key read as
 * nil (an error under missingkey=error), a field of nil an error, as in Go.
 */
export class Executor {
  readonly defines = new Map<string, Node[]>();

  /**
   * missingkey=error, as `helm lint --strict` and `helm template --strict`
   * render: reading an absent map key is an error (`index` is unaffected).
   */
  constructor(private readonly strict = false) {}

  add(parsed: Parsed): void {
    for (const [name, body] of parsed.defines) this.defines.set(name, body);
  }

  render(nodes: Node[], dot: unknown): string {
    return this.list(nodes, dot, [new Map([["$", dot]])]);
  }

  private list(nodes: Node[], dot: unknown, scopes: Scope[]): string {
    let out = "";
    for (const node of nodes) {
      if (node.kind === "text") out += node.text;
      else if (node.kind === "action") {
        const v = this.pipe(node.pipe, dot, scopes, node.where);
        if (node.pipe.decl.length === 0) out += goPrint(v, node.where);
      } else {
        const inner = [...scopes, new Map()];
        const v = this.pipe(
          node.kind === "range" ? { ...node.pipe, decl: [] } : node.pipe,
          dot,
          inner,
          node.where,
        );
        if (node.kind === "if") out += this.list(truthy(v) ? node.body : node.orElse, dot, inner);
        else if (node.kind === "with")
          out += truthy(v) ? this.list(node.body, v, inner) : this.list(node.orElse, dot, inner);
        else out += this.range(node, v, dot, inner);
      }
    }
    return out;
  }

  private range(node: Extract<Node, { body: Node[] }>, v: unknown, dot: unknown, scopes: Scope[]): string {
    const entries: Array<[unknown, unknown]> = Array.isArray(v)
      ? v.map((x, i) => [BigInt(i), x])
      : isMap(v)
        ? Object.keys(v)
            .sort()
            .map((k) => [k, v[k]])
        : v === null || v === undefined
          ? []
          : (() => {
              throw new Error(`${node.where}: range over ${kindOf(v)}`);
            })();
    if (entries.length === 0) return this.list(node.orElse, dot, scopes);
    const [a, b] = node.pipe.decl;
    let out = "";
    for (const [k, x] of entries) {
      const scope: Scope = new Map();
      if (a && b) scope.set(a, k).set(b, x);
      else if (a) scope.set(a, x);
      out += this.list(node.body, x, [...scopes, scope]);
    }
    return out;
  }

  private pipe(p: Pipeline, dot: unknown, scopes: Scope[], where: string): unknown {
    let piped: (() => unknown) | undefined;
    for (const cmd of p.cmds) {
      const prev = piped;
      const value = this.command(cmd, prev, dot, scopes, where);
      piped = () => value;
    }
    const result = piped?.();
    if (p.decl.length > 0) {
      const name = p.decl[0] as string;
      if (p.assign) {
        const scope = [...scopes].reverse().find((s) => s.has(name));
        if (!scope) throw new Error(`${where}: undefined variable ${name}`);
        scope.set(name, result);
      } else (scopes[scopes.length - 1] as Scope).set(name, result);
    }
    return result;
  }

  private command(
    cmd: Operand[],
    piped: (() => unknown) | undefined,
    dot: unknown,
    scopes: Scope[],
    where: string,
  ) {
    const [head, ...rest] = cmd as [Operand, ...Operand[]];
    const args = rest.map((o) => () => this.operand(o, dot, scopes, where));
    if (piped) args.push(piped);
    try {
      if (head.kind === "ident") {
        if (head.name === "include") {
          const [name, data] = all(args);
          const body = this.defines.get(String(name));
          if (!body) throw new Error(`no template "${String(name)}"`);
          return this.render(body, data);
        }
        const f = FUNCS[head.name];
        if (!f) throw new Error(`function "${head.name}" is outside the supported subset`);
        return f(args);
      }
      const v = this.operand(head, dot, scopes, where);
      if (typeof v === "function") return (v as (...a: unknown[]) => unknown)(...all(args));
      if (args.length > 0) throw new Error("can't give argument to non-function");
      return v;
    } catch (err) {
      const msg = (err as Error).message;
      throw new Error(msg.startsWith(where) ? msg : `${where}: ${msg}`);
    }
  }

  private operand(o: Operand, dot: unknown, scopes: Scope[], where: string): unknown {
    switch (o.kind) {
      case "lit":
        return o.value;
      case "ident":
        throw new Error(`${where}: function "${o.name}" used as a value`);
      case "pipe":
        return this.pipe(o.pipe, dot, scopes, where);
      case "field":
        return this.fields(dot, o.path, where);
      case "var": {
        const scope = [...scopes].reverse().find((s) => s.has(o.name));
        if (!scope) throw new Error(`${where}: undefined variable ${o.name}`);
        return this.fields(scope.get(o.name), o.path, where);
      }
    }
  }

  private fields(v: unknown, path: string[], where: string): unknown {
    let cur = v;
    for (const name of path) {
      if (cur === null || cur === undefined) throw new Error(`${where}: nil pointer evaluating .${name}`);
      if (cur instanceof GoStruct) {
        if (!Object.hasOwn(cur.fields, name)) throw new Error(`${where}: can't evaluate field ${name}`);
        cur = cur.fields[name];
      } else if (isMap(cur)) {
        if (this.strict && !Object.hasOwn(cur, name))
          throw new Error(`${where}: map has no entry for key "${name}"`);
        cur = Object.hasOwn(cur, name) ? cur[name] : undefined;
      } else throw new Error(`${where}: can't evaluate field ${name} in type ${kindOf(cur)}`);
    }
    return cur;
  }
}
