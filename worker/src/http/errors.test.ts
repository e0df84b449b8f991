import { readFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ERROR_CODES, type ErrorCode, errorBody, GatewayError, sendError } from "./errors.js";

const DOC = new URL("../../../docs/errors.md", import.meta.url);

interface DocRow {
  code: string;
  status: number;
  type: string;
  when: string;
}

const unquote = (cell: string) => cell.replace(/^`(.*)`$/, "$1");

/** The rows of the one table whose header is `code | HTTP status | type | when`. */
function docTable(markdown: string): DocRow[] {
  const lines = markdown.split(/\r?\n/);
  const cells = (line: string) =>
    line
      .trim()
      .replace(/^\|/, "")
      .replace(/\|$/, "")
      .split("|")
      .map((c) => c.trim());
  const headers = lines
    .map((line, index) => ({ line, index }))
    .filter(
      ({ line }) => line.trim().startsWith("|") && cells(line).join(",") === "code,HTTP status,type,when",
    );
  if (headers.length !== 1)
    throw new Error(`expected one error table in docs/errors.md, found ${headers.length}`);
  const start = (headers[0]?.index ?? 0) + 2; // skip the header and the --- row
  const rows: DocRow[] = [];
  for (let i = start; i < lines.length && lines[i]?.trim().startsWith("|"); i++) {
    const [code = "", status = "", type = "", when = "", ...extra] = cells(lines[i] ?? "");
    if (extra.length > 0) throw new Error(`row ${i + 1} has more than four cells: ${lines[i]}`);
    rows.push({ code: unquote(code), status: Number(status), type: unquote(type), when });
  }
  return rows;
}

describe("docs/errors.md", () => {
  const rows = docTable(readFileSync(DOC, "utf8"));
  const codes = Object.keys(ERROR_CODES) as ErrorCode[];

  it("lists exactly the codes of ERROR_CODES, each once", () => {
    const listed = rows.map((r) => r.code);
    expect(new Set(listed).size).toBe(listed.length);
    expect([...listed].sort()).toEqual([...codes].sort());
  });

  it.each(codes)("documents %s with its status and type", (code) => {
    const row = rows.find((r) => r.code === code);
    expect(row, `${code} is missing from docs/errors.md`).toBeDefined();
    expect({ status: row?.status, type: row?.type }).toEqual(ERROR_CODES[code]);
    expect(row?.when.length ?? 0).toBeGreaterThan(10);
  });

  it("parses a drifted table as different (the parser is not vacuous)", () => {
    const drifted = [
      "| code | HTTP status | type | when |",
      "| --- | --- | --- | --- |",
      "| `invalid_api_key` | 403 | `permission_error` | x |",
    ].join("\n");
    expect(docTable(drifted)).toEqual([
      { code: "invalid_api_key", status: 403, type: "permission_error", when: "x" },
    ]);
    expect(() => docTable("no table here")).toThrow(/found 0/);
  });
});

describe("ERROR_CODES", () => {
  it.each(Object.entries(ERROR_CODES))("%s has a 4xx/5xx status matching its type", (_code, spec) => {
    expect(spec.status).toBeGreaterThanOrEqual(400);
    expect(spec.status).toBeLessThan(600);
    if (spec.status >= 500) expect(spec.type).toBe("api_error");
    if (spec.type === "authentication_error") expect(spec.status).toBe(401);
  });
});

describe("GatewayError", () => {
  it.each(Object.keys(ERROR_CODES) as ErrorCode[])("%s takes its status and type from the table", (code) => {
    const err = new GatewayError(code, "msg");
    expect(err).toBeInstanceOf(Error);
    expect([err.code, err.status, err.type, err.param, err.message]).toEqual([
      code,
      ERROR_CODES[code].status,
      ERROR_CODES[code].type,
      null,
      "msg",
    ]);
  });

  it("keeps a param and an explicit status override", () => {
    const err = new GatewayError("upstream_error", "bad gateway", "model", 429);
    expect([err.status, err.type, err.param]).toEqual([429, "api_error", "model"]);
  });
});

describe("errorBody", () => {
  it.each<[string, string, string, string | null]>([
    ["api_error", "boom", "internal_error", null],
    ["invalid_request_error", 'quote " and \\ and\nnewline', "invalid_request", "messages"],
  ])("is OpenAI-shaped JSON (%s)", (type, message, code, param) => {
    const text = errorBody(type, message, code, param);
    expect(JSON.parse(text)).toEqual({ error: { message, type, param, code } });
    expect(Object.keys(JSON.parse(text).error)).toEqual(["message", "type", "param", "code"]);
  });

  it("defaults param to null", () => {
    expect(JSON.parse(errorBody("api_error", "m", "c")).error.param).toBeNull();
  });
});

describe("sendError", () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    server = http.createServer((req, res) => {
      if (req.url === "/too-late") {
        res.writeHead(200, { "content-type": "text/plain" });
        sendError(res, new GatewayError("internal_error", "ignored"));
        res.end("already streaming");
        return;
      }
      sendError(res, new GatewayError("method_not_allowed", "use POST", null), { allow: "POST" });
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it("writes the status, JSON headers, extra headers and the body", async () => {
    const res = await fetch(`${base}/v1/chat/completions`);
    const text = await res.text();
    expect(res.status).toBe(405);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(res.headers.get("allow")).toBe("POST");
    expect(Number(res.headers.get("content-length"))).toBe(Buffer.byteLength(text));
    expect(JSON.parse(text)).toEqual({
      error: { message: "use POST", type: "invalid_request_error", param: null, code: "method_not_allowed" },
    });
  });

  it("does nothing once headers are sent", async () => {
    const res = await fetch(`${base}/too-late`);
    expect([res.status, await res.text()]).toEqual([200, "already streaming"]);
  });
});
