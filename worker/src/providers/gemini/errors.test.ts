import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { error } from "./errors.js";

describe("Gemini errors", () => {
  it("replaces a body that is not Google's shape (a proxy's HTML page) with a generic message", () => {
    const out = error(502, Buffer.from("<html><body><h1>502 Bad Gateway</h1></body></html>"));
    expect(out.status).toBe(502);
    expect(out.errorClass).toBe(ErrorClass.UNAVAILABLE);
    expect(JSON.parse(out.body)).toEqual({
      error: {
        message: "upstream provider returned HTTP 502",
        type: "api_error",
        param: null,
        code: "upstream_error",
      },
    });
  });

  it("classifies a 500 INTERNAL whose message is about the prompt size as unavailable (only INVALID_ARGUMENT is a size error)", () => {
    const body = { error: { code: 500, message: "input token count too large", status: "INTERNAL" } };
    expect(error(500, Buffer.from(JSON.stringify(body))).errorClass).toBe(ErrorClass.UNAVAILABLE);
  });

  it("falls back on the HTTP status when the RPC status is unknown", () => {
    const body = { error: { code: 409, message: "aborted", status: "ABORTED" } };
    expect(error(409, Buffer.from(JSON.stringify(body))).errorClass).toBe(ErrorClass.UNAVAILABLE);
  });
});
