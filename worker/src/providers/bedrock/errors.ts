import type { IncomingHttpHeaders } from "node:http";
import { ErrorClass } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { errorBody } from "../../http/errors.js";
import { classifyStatus } from "../shared/classify.js";
import type { TranslatedError } from "../types.js";

/**
 * Bedrock errors: HTTP replies carry `{"message": "..."}` with the exception
 * name in the `x-amzn-errortype` header (`ThrottlingException:http://...`)
 * or in the body's `__type` (`com.amazon...#ValidationException`); inside a
 * ConverseStream the same exceptions arrive as exception frames
 * (`throttlingException`, ...). Both become the OpenAI error shape, keeping
 * Bedrock's message and naming the exception in `code`.
 */

/** The class of each exception Bedrock names (lower-cased), where it says more than the status. */
const BY_EXCEPTION: ReadonlyMap<string, ErrorClass> = new Map([
  ["throttlingexception", ErrorClass.RATE_LIMITED],
  ["servicequotaexceededexception", ErrorClass.QUOTA_EXHAUSTED],
  ["serviceunavailableexception", ErrorClass.UNAVAILABLE],
  ["modelnotreadyexception", ErrorClass.UNAVAILABLE],
  ["internalserverexception", ErrorClass.UNAVAILABLE],
  ["modelerrorexception", ErrorClass.UNAVAILABLE],
  ["modelstreamerrorexception", ErrorClass.UNAVAILABLE],
  ["modeltimeoutexception", ErrorClass.TIMEOUT],
  ["accessdeniedexception", ErrorClass.AUTH],
  ["unrecognizedclientexception", ErrorClass.AUTH],
  ["invalidsignatureexception", ErrorClass.AUTH],
  ["incompletesignatureexception", ErrorClass.AUTH],
  ["missingauthenticationtokenexception", ErrorClass.AUTH],
  ["expiredtokenexception", ErrorClass.AUTH],
  ["validationexception", ErrorClass.BAD_REQUEST],
  ["resourcenotfoundexception", ErrorClass.BAD_REQUEST],
]);

/** HTTP status of the exceptions a stream can carry (after its own 200). */
const STREAM_STATUS: ReadonlyMap<string, number> = new Map([
  ["throttlingexception", 429],
  ["servicequotaexceededexception", 429],
  ["validationexception", 400],
  ["modeltimeoutexception", 408],
  ["serviceunavailableexception", 503],
  ["modelnotreadyexception", 503],
  ["internalserverexception", 500],
]);

/** Messages of a ValidationException about an input longer than the model takes. */
const TOO_LONG =
  /too long|too many (input )?tokens|exceeds? (the )?(maximum )?(context|input)|context (length|window)|maximum (context|input) length/i;

const OPENAI_TYPE: Readonly<Partial<Record<ErrorClass, string>>> = {
  [ErrorClass.RATE_LIMITED]: "rate_limit_error",
  [ErrorClass.QUOTA_EXHAUSTED]: "insufficient_quota",
  [ErrorClass.AUTH]: "authentication_error",
  [ErrorClass.BAD_REQUEST]: "invalid_request_error",
  [ErrorClass.CONTEXT_LENGTH_EXCEEDED]: "invalid_request_error",
};

/** OpenAI's error type for a class (an auth failure on 403 is a permission error). */
const typeOf = (errorClass: ErrorClass, status: number) =>
  errorClass === ErrorClass.AUTH && status === 403
    ? "permission_error"
    : (OPENAI_TYPE[errorClass] ?? "api_error");

/** The bare exception name of a header or `__type` value: `a.b#Name:http://...` → `Name`. */
export function exceptionName(raw: unknown): string | undefined {
  if (typeof raw !== "string") return undefined;
  const name = raw.split(":")[0]?.split("#").pop()?.trim();
  return name ? name : undefined;
}

/** The class of a Bedrock exception (or of the status when the name says nothing more). */
export function classifyException(name: string | undefined, status: number, message: string): ErrorClass {
  const known = name === undefined ? undefined : BY_EXCEPTION.get(name.toLowerCase());
  const errorClass = known ?? classifyStatus(status);
  if (errorClass === ErrorClass.BAD_REQUEST && TOO_LONG.test(message)) {
    return ErrorClass.CONTEXT_LENGTH_EXCEEDED;
  }
  return errorClass;
}

/** The OpenAI-shaped error for a Bedrock exception. */
export function translateException(
  name: string | undefined,
  status: number,
  message: string,
): TranslatedError {
  const errorClass = classifyException(name, status, message);
  const type = typeOf(errorClass, status);
  const code = errorClass === ErrorClass.CONTEXT_LENGTH_EXCEEDED ? "context_length_exceeded" : (name ?? null);
  return {
    status,
    body: JSON.stringify({ error: { message, type, param: null, code } }),
    errorClass,
  };
}

/** An exception frame of a ConverseStream (`:exception-type` and its `{"message"}` payload). */
export function streamException(name: string, message: string): TranslatedError {
  return translateException(name, STREAM_STATUS.get(name.toLowerCase()) ?? 502, message);
}

/** A header's single value. */
const headerValue = (v: string | string[] | undefined) => (Array.isArray(v) ? v[0] : v);

/**
 * A Bedrock HTTP error (status ≥ 400) → the client's error and the engine's
 * class. A body that is not Bedrock's JSON (a proxy's HTML page) is not
 * relayed: the client gets a generic message with the status.
 */
export function error(status: number, body: Buffer, headers: IncomingHttpHeaders = {}): TranslatedError {
  let name = exceptionName(headerValue(headers["x-amzn-errortype"]));
  let message: string | undefined;
  try {
    const parsed = JSON.parse(body.subarray(0, 64 * 1024).toString("utf8")) as Record<string, unknown>;
    if (typeof parsed === "object" && parsed !== null) {
      name ??= exceptionName(parsed.__type) ?? exceptionName(parsed.code);
      const m = parsed.message ?? parsed.Message;
      if (typeof m === "string") message = m;
    }
  } catch {
    // not JSON: generic message below
  }
  if (message === undefined) {
    const generic = `upstream provider returned HTTP ${status}`;
    const errorClass = classifyException(name, status, "");
    return {
      status,
      body: errorBody(typeOf(errorClass, status), generic, "upstream_error"),
      errorClass,
    };
  }
  return translateException(name, status, message);
}
