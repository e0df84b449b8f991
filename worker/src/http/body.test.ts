import http, { type IncomingMessage } from "node:http";
import type { AddressInfo } from "node:net";
import { Readable } from "node:stream";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parseJsonObject, readBody } from "./body.js";
import { GatewayError } from "./errors.js";

const LIMIT = 1024;

/** A server that answers with what readBody made of the request. */
let server: http.Server;
let port: number;
const serverErrors: unknown[] = [];

beforeAll(async () => {
  server = http.createServer((req, res) => {
    readBody(req, LIMIT).then(
      (body) => {
        res.writeHead(200, { "content-type": "application/json" });
        res.end(JSON.stringify({ length: body.length, sha: body.toString("base64") }));
      },
      (err: unknown) => {
        if (err instanceof GatewayError) {
          res.writeHead(err.status, { "content-type": "application/json", connection: "close" });
          res.end(JSON.stringify({ code: err.code, message: err.message }));
        } else {
          serverErrors.push(err);
          res.destroy();
        }
      },
    );
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

/** Sends `chunks` one write at a time; chunked encoding unless a content-length is given. */
function post(
  chunks: Buffer[],
  headers: Record<string, string | number> = {},
): Promise<{ status: number; json: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: "127.0.0.1", port, method: "POST", path: "/", headers, agent: false },
      (res) => {
        const parts: Buffer[] = [];
        res.on("data", (c: Buffer) => parts.push(c));
        res.on("end", () =>
          resolve({ status: res.statusCode ?? 0, json: JSON.parse(Buffer.concat(parts).toString("utf8")) }),
        );
      },
    );
    req.on("error", reject);
    const writeNext = (i: number) => {
      if (i === chunks.length) {
        req.end();
        return;
      }
      req.write(chunks[i], () => setImmediate(() => writeNext(i + 1)));
    };
    writeNext(0);
  });
}

const bytes = (n: number, fill = 0x61) => Buffer.alloc(n, fill);

describe("readBody over HTTP", () => {
  it.each([
    ["an empty body", [] as number[], { "content-length": 0 }],
    ["a small body with content-length", [10], { "content-length": 10 }],
    ["exactly the limit with content-length", [LIMIT], { "content-length": LIMIT }],
    ["a chunked body in many pieces", [100, 200, 300, 24], {}],
    ["exactly the limit, chunked", [512, 512], {}],
  ])("reads %s completely", async (_name, sizes, headers) => {
    const chunks = sizes.map((n, i) => bytes(n, 0x61 + i));
    const expected = Buffer.concat(chunks);
    const { status, json } = await post(chunks, headers);
    expect(status).toBe(200);
    expect(json).toEqual({ length: expected.length, sha: expected.toString("base64") });
  });

  it.each([
    ["a content-length over the limit", [LIMIT + 1], { "content-length": LIMIT + 1 }],
    ["a much larger content-length", [64 * 1024], { "content-length": 64 * 1024 }],
    ["a chunked body one byte over the limit", [LIMIT, 1], {}],
    ["a chunked body far over the limit", [600, 600, 600, 600], {}],
  ])("refuses %s with request_too_large", async (_name, sizes, headers) => {
    const { status, json } = await post(
      sizes.map((n) => bytes(n)),
      headers,
    );
    expect(status).toBe(413);
    expect(json).toEqual({
      code: "request_too_large",
      message: `request body is larger than ${LIMIT} bytes`,
    });
  });

  it("has not reported unexpected errors", () => {
    expect(serverErrors).toEqual([]);
  });
});

/** An IncomingMessage-like stream: just enough for readBody. */
function fakeRequest(chunks: Buffer[], headers: Record<string, string> = {}) {
  let reads = 0;
  const stream = new Readable({
    read() {
      const next = chunks[reads++];
      this.push(next ?? null);
    },
  });
  return {
    req: Object.assign(stream, { headers }) as unknown as IncomingMessage,
    reads: () => reads,
  };
}

describe("readBody on a stream", () => {
  it("rejects a declared content-length over the limit without reading the body", async () => {
    const { req, reads } = fakeRequest([bytes(10)], { "content-length": "11" });
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: "request_too_large", status: 413 });
    expect(reads()).toBe(0);
  });

  it("counts the bytes actually sent, whatever the declared length", async () => {
    // A (lying) small content-length does not let a larger body through.
    const { req } = fakeRequest([bytes(6), bytes(6)], { "content-length": "5" });
    await expect(readBody(req, 10)).rejects.toBeInstanceOf(GatewayError);
  });

  it.each([
    ["absent", undefined],
    ["not a number", "abc"],
    ["empty", ""],
  ])("falls back to counting when content-length is %s", async (_name, value) => {
    const headers: Record<string, string> = value === undefined ? {} : { "content-length": value };
    const ok = fakeRequest([bytes(4), bytes(6)], headers);
    expect((await readBody(ok.req, 10)).equals(bytes(10))).toBe(true);
    const tooBig = fakeRequest([bytes(4), bytes(7)], headers);
    await expect(readBody(tooBig.req, 10)).rejects.toMatchObject({ code: "request_too_large" });
  });

  it("resolves with the last declared byte, before the stream's end", async () => {
    // The chunks arrive, but the end never comes: only the declared length can finish the read.
    let reads = 0;
    const parts = [Buffer.from("hello "), Buffer.from("world")];
    const stream = new Readable({
      read() {
        const next = parts[reads++];
        if (next) this.push(next);
      },
    });
    const req = Object.assign(stream, { headers: { "content-length": "11" } }) as unknown as IncomingMessage;
    expect((await readBody(req, 100)).toString()).toBe("hello world");
    expect(req.readableEnded).toBe(false);
  });

  it("joins chunks in order", async () => {
    const { req } = fakeRequest([Buffer.from("hello "), Buffer.from("wor"), Buffer.from("ld")]);
    expect((await readBody(req, 100)).toString()).toBe("hello world");
  });

  it("keeps consuming a too-large body to its end (no pause, no destroy)", async () => {
    const { req, reads } = fakeRequest([bytes(8), bytes(8), bytes(8), bytes(8)]);
    await expect(readBody(req, 10)).rejects.toMatchObject({ code: "request_too_large" });
    if (!req.readableEnded) await new Promise((resolve) => req.once("end", resolve));
    expect(req.readableEnded).toBe(true);
    expect(reads()).toBe(5); // four chunks and the end
  });

  it("rejects with the stream's error", async () => {
    const stream = new Readable({
      read() {
        this.destroy(new Error("socket hang up"));
      },
    });
    const req = Object.assign(stream, { headers: {} }) as unknown as IncomingMessage;
    await expect(readBody(req, 10)).rejects.toThrow("socket hang up");
  });
});

describe("parseJsonObject", () => {
  it.each([
    ["{}", {}],
    ['{"model":"gpt-4o","messages":[]}', { model: "gpt-4o", messages: [] }],
    ['  \n{"nested":{"a":[1,2]}}\n', { nested: { a: [1, 2] } }],
    ['{"text":"héllo ✓"}', { text: "héllo ✓" }],
  ])("parses %s", (text, expected) => {
    expect(parseJsonObject(Buffer.from(text, "utf8"))).toEqual(expected);
  });

  it.each([
    ["an array", "[]", /must be a JSON object/],
    ["an array of objects", '[{"model":"x"}]', /must be a JSON object/],
    ["null", "null", /must be a JSON object/],
    ["a number", "42", /must be a JSON object/],
    ["a string", '"hello"', /must be a JSON object/],
    ["a boolean", "true", /must be a JSON object/],
    ["an empty body", "", /could not parse/],
    ["truncated JSON", '{"model":', /could not parse/],
    ["trailing garbage", "{} {}", /could not parse/],
    ["single quotes", "{'a':1}", /could not parse/],
    ["form data", "model=gpt-4o", /could not parse/],
  ])("rejects %s with invalid_json", (_name, text, message) => {
    let thrown: unknown;
    try {
      parseJsonObject(Buffer.from(text, "utf8"));
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(GatewayError);
    expect(thrown).toMatchObject({ code: "invalid_json", status: 400, type: "invalid_request_error" });
    expect((thrown as Error).message).toMatch(message);
  });
});
