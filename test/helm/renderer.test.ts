import { describe, expect, it } from "vitest";
import { Executor } from "./lib/go-exec.js";
import { GoStruct, goFloat } from "./lib/go-funcs.js";
import { parseTemplate } from "./lib/go-template.js";

/**
 * The test renderer's contract: Helm's behaviour where the chart's output
 * depends on it (known text/template and Sprig semantics, written down here
 * as expectations), and an error for anything outside its subset. It is not
 * Helm: scripts/helm-check.sh runs the real `helm template` where helm exists.
 */
function render(source: string, values: Record<string, unknown> = {}, defines = ""): string {
  const exec = new Executor();
  exec.add(parseTemplate(defines, "_defines.tpl"));
  const parsed = parseTemplate(source, "t.yaml");
  exec.add(parsed);
  const chart = new GoStruct({ Name: "llm-gateway", Version: "0.1.0", AppVersion: "0.1.0" });
  return exec.render(parsed.nodes, { Values: values, Chart: chart, Release: new GoStruct({ Name: "r" }) });
}

describe("Go template semantics the chart relies on", () => {
  it("trims whitespace at {{- and -}}, including newlines, and drops comments", () => {
    expect(render("a  \n {{- 1 -}} \n  b")).toBe("a1b");
    expect(render("a {{/* note */}}b{{- /* trimmed */ -}} c")).toBe("a bc");
    expect(render("x{{-3}}")).toBe("x-3"); // "{{-3" is the number -3, not a trim marker
  });

  it("prints float64 values as Go does: integral values from 1e6 on in exponent form", () => {
    expect(render("{{ .Values.n }}", { n: 1_000_000 })).toBe("1e+06");
    expect(render("{{ .Values.n | int }}", { n: 1_000_000 })).toBe("1000000");
    expect(render("{{ .Values.n | quote }}", { n: 1_200_000 })).toBe('"1.2e+06"');
    expect(render("{{ .Values.n }} {{ .Values.m }}", { n: 30_000, m: 0.5 })).toBe("30000 0.5");
    expect([goFloat(123456), goFloat(1234567.5), goFloat(0.0001), goFloat(0.00001)]).toEqual([
      "123456",
      "1.2345675e+06",
      "0.0001",
      "1e-05",
    ]);
  });

  it("Sprig default treats false, 0 and empty as unset", () => {
    expect(render("{{ .Values.f | default true }}", { f: false })).toBe("true");
    expect(render("{{ .Values.z | default 5 }}", { z: 0 })).toBe("5");
    expect(render('{{ .Values.s | default "d" }}', { s: "x" })).toBe("x");
  });

  it("eq of an int literal and a float64 value is an error, as in Go", () => {
    expect(() => render("{{ eq .Values.n 1 }}", { n: 1 })).toThrow(/incompatible types/);
    expect(render("{{ eq (int .Values.n) 1 }}", { n: 1 })).toBe("true");
    expect(render('{{ eq .Values.missing "x" }}', {})).toBe("false");
  });

  it("a missing map key is empty; a field of it is an error; an unknown struct field is an error", () => {
    expect(render("[{{ .Values.a }}]", {})).toBe("[]");
    expect(() => render("{{ .Values.a.b }}", {})).toThrow(/nil pointer evaluating \.b/);
    expect(() => render("{{ .Chart.Nmae }}")).toThrow(/can't evaluate field Nmae/);
  });

  it("refuses what is outside the subset instead of guessing", () => {
    expect(() => render('{{ lookup "v1" "Secret" "ns" "n" }}')).toThrow(/outside the supported subset/);
    expect(() => render('{{ template "x" . }}')).toThrow(/outside the supported subset/);
    expect(() => render("{{ (dict).Field }}")).toThrow(/not supported/);
    expect(() => render("{{ .Values.m }}", { m: { a: 1 } })).toThrow(/printing a map/);
  });

  it("toYaml sorts keys and quotes what YAML 1.1 would read as another type", () => {
    expect(render("{{ toYaml .Values.x }}", { x: { b: "on", a: "yes", c: 1 } })).toBe(
      'a: "yes"\nb: "on"\nc: 1',
    );
    expect(render("{{ toYaml .Values.x }}", { x: [] })).toBe("[]");
  });

  it("range walks maps by sorted key, lists in order, and takes else when empty", () => {
    const src = "{{ range $k, $v := .Values.m }}{{ $k }}={{ $v }};{{ else }}none{{ end }}";
    expect(render(src, { m: { b: "2", a: "1" } })).toBe("a=1;b=2;");
    expect(render(src, { m: {} })).toBe("none");
    expect(render("{{ range $i, $v := .Values.l }}{{ $i }}{{ $v }}{{ end }}", { l: ["x", "y"] })).toBe(
      "0x1y",
    );
  });

  it("and/or return the deciding operand; if/else if/else chains share one end", () => {
    expect(render('{{ or .Values.a "b" }}', { a: "" })).toBe("b");
    expect(render("{{ and .Values.a .Values.b }}", { a: "x", b: 0 })).toBe("0");
    const chain = "{{ if .Values.a }}A{{ else if .Values.b }}B{{ else }}C{{ end }}";
    expect([render(chain, { a: true }), render(chain, { b: 1 }), render(chain, {})]).toEqual(["A", "B", "C"]);
  });

  it("include renders a define with its own dot; nindent/indent pad every line", () => {
    const defines = '{{- define "x" -}}a: {{ .v }}\nb: 2{{- end -}}';
    expect(render('k:{{- include "x" (dict "v" 1) | nindent 2 }}', {}, defines)).toBe("k:\n  a: 1\n  b: 2");
    expect(render('{{ "a\\n\\nb" | indent 2 }}')).toBe("  a\n  \n  b");
  });

  it("under missingkey=error (helm lint --strict) an absent key is an error, but not through index", () => {
    const exec = new Executor(true);
    const parsed = parseTemplate('{{ index .Values "a" }}|{{ .Values.a }}', "t.yaml");
    expect(() => exec.render(parsed.nodes, { Values: {} })).toThrow(/map has no entry for key "a"/);
    const viaIndex = parseTemplate('[{{ index .Values "a" }}]', "t.yaml");
    expect(exec.render(viaIndex.nodes, { Values: {} })).toBe("[]");
  });

  it("required fails on nil and empty strings only", () => {
    expect(() => render('{{ required "need x" .Values.x }}', {})).toThrow(/need x/);
    expect(() => render('{{ required "need x" .Values.x }}', { x: "" })).toThrow(/need x/);
    expect(render('{{ required "need x" .Values.x }}', { x: false })).toBe("false");
  });
});
