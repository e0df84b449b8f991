/**
 * SigV4 verification for the mock's Bedrock protocol, written from AWS's
 * specification with node:crypto only (deliberately not aws4, which the
 * gateway signs with: a shared bug would otherwise go unnoticed):
 *
 * - canonical request: `POST \n <path, each segment percent-encoded again> \n
 *   <sorted query> \n <signed headers, lower-case name:trimmed value> \n\n
 *   <signed header names> \n <hex SHA-256 of the body>`;
 * - string to sign: `AWS4-HMAC-SHA256 \n <x-amz-date> \n <date/region/service/aws4_request> \n
 *   <hex SHA-256 of the canonical request>`;
 * - key: HMAC chain `AWS4<secret>` → date → region → service → `aws4_request`.
 *
 * Paths are taken as sent (no dot-segment normalisation); the region is any
 * region the client signed for; the service must be `bedrock`.
 */
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";

/** A verified request, or why it is refused (a Bedrock exception name and message, HTTP 403). */
export type SigV4Verdict =
  | { ok: true; accessKeyId: string; region: string }
  | { ok: false; accessKeyId: string | undefined; errorType: string; message: string };

/** The fields of an `Authorization: AWS4-HMAC-SHA256 ...` header. */
interface Authorization {
  accessKeyId: string;
  date: string;
  region: string;
  service: string;
  signedHeaders: string[];
  signature: string;
}

const SCHEME = "AWS4-HMAC-SHA256";
/** How far x-amz-date may be from the mock's clock, as AWS allows. */
const MAX_SKEW_MS = 15 * 60 * 1000;
const UNRESERVED = /[A-Za-z0-9\-_.~]/;

/** RFC 3986 percent-encoding of every byte but the unreserved ones (upper-case hex). */
export function uriEncode(text: string): string {
  let out = "";
  for (const byte of Buffer.from(text, "utf8")) {
    const c = String.fromCharCode(byte);
    out += byte < 0x80 && UNRESERVED.test(c) ? c : `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The canonical URI of a path as sent: each segment encoded once more (`%3A` → `%253A`). */
export function canonicalUri(path: string): string {
  return path === "" ? "/" : path.split("/").map(uriEncode).join("/");
}

/** The canonical query string: parameters decoded, encoded, sorted by name then value. */
export function canonicalQuery(query: string): string {
  if (query === "") return "";
  const decode = (s: string) => {
    try {
      return decodeURIComponent(s);
    } catch {
      return s;
    }
  };
  return query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => {
      const eq = p.indexOf("=");
      const [k, v] = eq === -1 ? [p, ""] : [p.slice(0, eq), p.slice(eq + 1)];
      return [uriEncode(decode(k)), uriEncode(decode(v))] as const;
    })
    .sort((a, b) => (a[0] === b[0] ? (a[1] < b[1] ? -1 : 1) : a[0] < b[0] ? -1 : 1))
    .map(([k, v]) => `${k}=${v}`)
    .join("&");
}

/** Parses the Authorization header; undefined when it is not a well-formed SigV4 one. */
export function parseAuthorization(header: string): Authorization | undefined {
  if (!header.startsWith(`${SCHEME} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of header.slice(SCHEME.length + 1).split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const scope = (fields.get("Credential") ?? "").split("/");
  const signedHeaders = (fields.get("SignedHeaders") ?? "").split(";").filter((h) => h !== "");
  const signature = fields.get("Signature") ?? "";
  if (scope.length !== 5 || scope[4] !== "aws4_request" || signedHeaders.length === 0) return undefined;
  if (!/^[0-9a-f]{64}$/.test(signature)) return undefined;
  const [accessKeyId, date, region, service] = scope as [string, string, string, string];
  return { accessKeyId, date, region, service, signedHeaders, signature };
}

const sha256 = (data: string | Buffer) => createHash("sha256").update(data).digest("hex");
const hmac = (key: string | Buffer, data: string) => createHmac("sha256", key).update(data, "utf8").digest();

/** A header's canonical value: several values joined by commas, trimmed, inner whitespace collapsed. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const raw = headers[name];
  if (raw === undefined) return undefined;
  const value = Array.isArray(raw) ? raw.join(",") : String(raw);
  return value.trim().replace(/\s+/g, " ");
}

/** Epoch ms of an `x-amz-date` (YYYYMMDDTHHMMSSZ); NaN when malformed. */
function amzTime(value: string): number {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return Number.NaN;
  const [, y, mo, d, h, mi, s] = m.map(Number) as number[];
  return Date.UTC(y as number, (mo as number) - 1, d, h, mi, s);
}

/**
 * Verifies a SigV4-signed request. `target` is the request target as sent
 * (path and query, percent-encoding untouched); `secretOf` gives the secret
 * access key of an access key id.
 */
export function verifySigV4(
  method: string,
  target: string,
  headers: IncomingHttpHeaders,
  body: Buffer,
  secretOf: (accessKeyId: string) => string | undefined,
  now = Date.now(),
): SigV4Verdict {
  const refuse = (errorType: string, message: string, accessKeyId?: string): SigV4Verdict => ({
    ok: false,
    accessKeyId,
    errorType,
    message,
  });
  const auth = parseAuthorization(headers.authorization ?? "");
  if (!auth)
    return refuse("IncompleteSignatureException", "The Authorization header is not a valid SigV4 header.");
  const { accessKeyId, signedHeaders } = auth;
  const secret = secretOf(accessKeyId);
  if (secret === undefined) {
    return refuse(
      "UnrecognizedClientException",
      "The security token included in the request is invalid.",
      accessKeyId,
    );
  }
  const amzDate = headerValue(headers, "x-amz-date") ?? "";
  const time = amzTime(amzDate);
  const required = [
    "host",
    "x-amz-date",
    ...(headers["x-amz-security-token"] ? ["x-amz-security-token"] : []),
  ];
  if (Number.isNaN(time) || required.some((h) => !signedHeaders.includes(h))) {
    return refuse(
      "IncompleteSignatureException",
      `Signed headers must include ${required.join(", ")}.`,
      accessKeyId,
    );
  }
  if (auth.service !== "bedrock" || auth.date !== amzDate.slice(0, 8)) {
    return refuse(
      "InvalidSignatureException",
      "Credential should be scoped to a valid date and service bedrock.",
      accessKeyId,
    );
  }
  if (Math.abs(now - time) > MAX_SKEW_MS) {
    return refuse(
      "InvalidSignatureException",
      `Signature expired: ${amzDate} is too far from now.`,
      accessKeyId,
    );
  }
  const canonicalHeaders: string[] = [];
  for (const name of signedHeaders) {
    const value = headerValue(headers, name);
    if (value === undefined)
      return refuse("IncompleteSignatureException", `Signed header ${name} is missing.`, accessKeyId);
    canonicalHeaders.push(`${name}:${value}\n`);
  }
  const q = target.indexOf("?");
  const canonical = [
    method,
    canonicalUri(q === -1 ? target : target.slice(0, q)),
    canonicalQuery(q === -1 ? "" : target.slice(q + 1)),
    canonicalHeaders.join(""),
    signedHeaders.join(";"),
    sha256(body),
  ].join("\n");
  const scope = `${auth.date}/${auth.region}/${auth.service}/aws4_request`;
  const stringToSign = [SCHEME, amzDate, scope, sha256(canonical)].join("\n");
  let key = hmac(`AWS4${secret}`, auth.date);
  for (const part of [auth.region, auth.service, "aws4_request"]) key = hmac(key, part);
  const expected = createHmac("sha256", key).update(stringToSign, "utf8").digest();
  if (!timingSafeEqual(expected, Buffer.from(auth.signature, "hex"))) {
    return refuse(
      "InvalidSignatureException",
      "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
      accessKeyId,
    );
  }
  return { ok: true, accessKeyId, region: auth.region };
}
