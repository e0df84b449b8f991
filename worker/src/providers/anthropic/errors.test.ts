import { describe, expect, it } from "vitest";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { error, streamError } from "./errors.js";

const anthropic = (type: string, message: string) =>
  Buffer.from(JSON.stringify({ type: "error", error: { type, message }, request_id: "req_1" }));
const bodyOf = (t: { body: string }) => (JSON.parse(t.body) as { error: Record<string, unknown> }).error;

describe("anthropic errors", () => {
  it("wraps a body that is not JSON (a proxy's HTML page), keeping the status", () => {
    const t = error(502, Buffer.from("<html><body>Bad Gateway</body></html>"));
    expect(t.status).toBe(502);
    expect(t.errorClass).toBe(ErrorClass.UNAVAILABLE);
    expect(bodyOf(t)).toEqual({
      message: "upstream provider returned HTTP 502",
      type: "api_error",
      param: null,
      code: "upstream_error",
    });
  });

  it.each([
    [529, "overloaded_error", "Overloaded", ErrorClass.UNAVAILABLE, 503],
    [413, "request_too_large", "Request exceeds the maximum size", ErrorClass.BAD_REQUEST, 413],
    [
      400,
      "invalid_request_error",
      "input length and `max_tokens` exceed context limit: 1 + 2 > 2",
      ErrorClass.CONTEXT_LENGTH_EXCEEDED,
      400,
    ],
    [418, "teapot_error", "short and stout", ErrorClass.BAD_REQUEST, 418],
  ])("classifies HTTP %i %s", (status, type, message, errorClass, clientStatus) => {
    const t = error(status, anthropic(type, message));
    expect(t.errorClass).toBe(errorClass);
    expect(t.status).toBe(clientStatus);
    expect(bodyOf(t).message).toBe(message);
  });

  it("reads an error event without a readable error as a provider failure", () => {
    const t = streamError("nonsense");
    expect(t.status).toBe(502);
    expect(t.errorClass).toBe(ErrorClass.UNAVAILABLE);
  });
});
