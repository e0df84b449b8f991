import { fromJson, type JsonValue } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { CredentialService } from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { matchTemplate, parseTemplate, TemplateError } from "./path-template.js";
import { type JsonObject, RequestError, resolveFieldPath, setFromStrings } from "./request-json.js";
import { compileRestRoutes } from "./rest-routes.js";
import { REST_SERVICES } from "./services.js";
import { DEFAULT_REST_PREFIX } from "./transcoder.js";

const values = (template: string, path: string) => {
  const m = matchTemplate(parseTemplate(template), path);
  return m && "values" in m ? Object.fromEntries(m.values) : m;
};

describe("path templates", () => {
  it("binds single-segment, multi-segment and nested variables", () => {
    expect(values("/v1/things/{id}", "/v1/things/a%20b")).toEqual({ id: "a b" });
    expect(values("/v1/things/{id}", "/v1/things/a%2Fb")).toEqual({ id: "a/b" });
    expect(values("/v1/{name=shelves/*/books/*}", "/v1/shelves/s1/books/b2")).toEqual({
      name: "shelves/s1/books/b2",
    });
    expect(values("/v1/files/{path=**}", "/v1/files/a/b%2Fc/d")).toEqual({ path: "a/b%2Fc/d" });
    expect(values("/v1/things", "/v1/things/")).toBeUndefined();
    expect(values("/v1/things/{id}", "/v1/things")).toBeUndefined();
    expect(values("/v1/things/{id}", "/v1/things/x/y")).toBeUndefined();
  });

  it("matches the custom verb only as a suffix of the last segment", () => {
    const t = "/v1/things/{id}:enable";
    expect(parseTemplate(t).verb).toBe("enable");
    expect(values(t, "/v1/things/abc:enable")).toEqual({ id: "abc" });
    expect(values(t, "/v1/things/abc:disable")).toBeUndefined();
    expect(values(t, "/v1/things/abc")).toBeUndefined();
    expect(parseTemplate("/v1/{name=a/*}:go").verb).toBe("go");
  });

  it("reports malformed encoding and refuses bad templates", () => {
    expect(matchTemplate(parseTemplate("/v1/{id}"), "/v1/%E0%A4%A")).toEqual({
      error: "malformed percent-encoding in path /v1/%E0%A4%A",
    });
    for (const bad of ["v1/x", "/v1/{id", "/v1/{a b}", "/v1/**/x", "/v1/{id}/{id}", "/v1/x y"]) {
      expect(() => parseTemplate(bad), bad).toThrow(TemplateError);
    }
  });
});

describe("request JSON", () => {
  const input = CredentialService.method.createCredential.input;

  it("resolves proto and JSON names, nested with dots", () => {
    expect(resolveFieldPath(input, "org_id")?.map((f) => f.name)).toEqual(["org_id"]);
    expect(resolveFieldPath(input, "orgId")?.map((f) => f.name)).toEqual(["org_id"]);
    expect(resolveFieldPath(input, "settings.base_url")?.map((f) => f.name)).toEqual([
      "settings",
      "base_url",
    ]);
    expect(resolveFieldPath(input, "nope")).toBeUndefined();
    expect(resolveFieldPath(input, "org_id.x")).toBeUndefined();
  });

  it("converts strings to the field's JSON and refuses disagreement with the body", () => {
    const json: JsonObject = { org_id: "o1", settings: { region: "eu" } };
    setFromStrings(json, resolveFieldPath(input, "orgId") ?? [], "orgId", ["o1"], "query");
    setFromStrings(json, resolveFieldPath(input, "models") ?? [], "models", ["a", "b"], "query");
    setFromStrings(json, resolveFieldPath(input, "weight") ?? [], "weight", ["3"], "query");
    setFromStrings(
      json,
      resolveFieldPath(input, "settings.base_url") ?? [],
      "settings.base_url",
      ["u"],
      "query",
    );
    expect(json).toEqual({
      orgId: "o1",
      models: ["a", "b"],
      weight: "3",
      settings: { region: "eu", baseUrl: "u" },
    });
    const msg = fromJson(input, json as JsonValue, { ignoreUnknownFields: false });
    expect(msg).toMatchObject({ orgId: "o1", models: ["a", "b"], weight: 3, settings: { baseUrl: "u" } });
    expect(() =>
      setFromStrings(json, resolveFieldPath(input, "org_id") ?? [], "org_id", ["o2"], "path"),
    ).toThrow(new RequestError("org_id in the request body differs from the path"));
    expect(() =>
      setFromStrings(json, resolveFieldPath(input, "name") ?? [], "name", ["a", "b"], "query"),
    ).toThrow(RequestError);
  });
});

describe("compiled routes", () => {
  const services = REST_SERVICES;
  const routes = compileRestRoutes(services, DEFAULT_REST_PREFIX);

  it("binds every unary RPC of the management services once, under the prefix", () => {
    const rpcs = services.flatMap((s) =>
      s.methods.filter((m) => m.methodKind === "unary").map((m) => `/${s.typeName}/${m.name}`),
    );
    expect(routes.map((r) => r.rpcPath).sort()).toEqual(rpcs.sort());
    for (const r of routes) expect(r.template.source.startsWith(`${DEFAULT_REST_PREFIX}/`)).toBe(true);
    const enable = routes.find((r) => r.method.name === "EnableCredential");
    expect(enable).toMatchObject({ httpMethod: "POST", body: "*" });
    expect(enable?.template.verb).toBe("enable");
  });

  it("orders verb templates and literal-rich templates first", () => {
    const verbs = routes.filter((r) => r.template.verb !== undefined).length;
    expect(routes.slice(0, verbs).every((r) => r.template.verb !== undefined)).toBe(true);
  });

  it("refuses annotations outside the prefix", () => {
    expect(() => compileRestRoutes(services, "/other")).toThrow(/outside the REST prefix \/other/);
  });
});
