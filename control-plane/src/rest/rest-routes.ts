import { type DescField, type DescMethod, type DescService, getOption, hasOption } from "@bufbuild/protobuf";
import { http } from "../../../proto/gen/google/api/annotations_pb.js";
import type { HttpRule } from "../../../proto/gen/google/api/http_pb.js";
import { type PathTemplate, parseTemplate, TemplateError } from "./path-template.js";
import { resolveFieldPath, settableFromString } from "./request-json.js";

/** One HTTP binding of an RPC, compiled from its google.api.http option. */
export interface RestRoute {
  /** Upper-case HTTP method: GET, POST, ... */
  httpMethod: string;
  template: PathTemplate;
  method: DescMethod;
  /** The Connect path of the RPC: /package.Service/Method. */
  rpcPath: string;
  /** Resolved fields bound by the path template, by field path. */
  pathFields: Map<string, DescField[]>;
  /** "" (no body), "*" (the whole request) or the field path the body sets. */
  body: string;
  bodyFields: DescField[] | undefined;
}

function patternOf(rule: HttpRule): { httpMethod: string; path: string } {
  const p = rule.pattern;
  switch (p.case) {
    case "get":
    case "put":
    case "post":
    case "delete":
    case "patch":
      return { httpMethod: p.case.toUpperCase(), path: p.value };
    case "custom":
      return { httpMethod: p.value.kind.toUpperCase(), path: p.value.path };
    default:
      throw new TemplateError("no HTTP method/path pattern");
  }
}

function compileBinding(method: DescMethod, rule: HttpRule, prefix: string): RestRoute {
  const { httpMethod, path } = patternOf(rule);
  const template = parseTemplate(path);
  if (path !== prefix && !path.startsWith(`${prefix}/`)) {
    throw new TemplateError(`${httpMethod} ${path} is outside the REST prefix ${prefix}`);
  }
  if (rule.responseBody !== "") throw new TemplateError("response_body is not supported");
  const pathFields = new Map<string, DescField[]>();
  for (const variable of template.variables) {
    const fields = resolveFieldPath(method.input, variable);
    const leaf = fields?.[fields.length - 1];
    if (!fields || !leaf || leaf.fieldKind === "list" || !settableFromString(leaf)) {
      throw new TemplateError(
        `path variable {${variable}} is not a singular scalar field of ${method.input.typeName}`,
      );
    }
    pathFields.set(variable, fields);
  }
  let bodyFields: DescField[] | undefined;
  if (rule.body !== "" && rule.body !== "*") {
    bodyFields = resolveFieldPath(method.input, rule.body);
    if (!bodyFields) throw new TemplateError(`body ${rule.body} is not a field of ${method.input.typeName}`);
  }
  return {
    httpMethod,
    template,
    method,
    rpcPath: `/${method.parent.typeName}/${method.name}`,
    pathFields,
    body: rule.body,
    bodyFields,
  };
}

/**
 * Compiles the google.api.http bindings of every unary method of the
 * services (additional_bindings included). Streaming methods are skipped:
 * REST here is request/response only. A binding that cannot work (bad
 * template, unknown field, outside the prefix) fails at start-up, naming it.
 * The result is ordered most specific first: verb templates, then more
 * literal segments, then fewer variables.
 */
export function compileRestRoutes(services: readonly DescService[], prefix: string): RestRoute[] {
  const routes: RestRoute[] = [];
  for (const service of services) {
    for (const method of service.methods) {
      if (method.methodKind !== "unary" || !hasOption(method, http)) continue;
      const rule = getOption(method, http);
      for (const binding of [rule, ...rule.additionalBindings]) {
        try {
          routes.push(compileBinding(method, binding, prefix));
        } catch (err) {
          if (!(err instanceof TemplateError)) throw err;
          throw new TemplateError(`google.api.http of ${service.typeName}.${method.name}: ${err.message}`);
        }
      }
    }
  }
  const seen = new Map<string, string>();
  for (const r of routes) {
    const shape = `${r.httpMethod} ${r.template.source.replace(/\{[^}=]*/g, "{")}`;
    const other = seen.get(shape);
    if (other)
      throw new TemplateError(`${r.rpcPath} and ${other} both bind ${r.httpMethod} ${r.template.source}`);
    seen.set(shape, r.rpcPath);
  }
  const rank = (r: RestRoute) => [
    r.template.verb === undefined ? 1 : 0,
    -r.template.literals,
    r.pathFields.size,
  ];
  return routes.sort((a, b) => {
    const ra = rank(a);
    const rb = rank(b);
    for (let i = 0; i < ra.length; i++) {
      const d = (ra[i] as number) - (rb[i] as number);
      if (d !== 0) return d;
    }
    return 0;
  });
}
