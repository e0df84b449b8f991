import aws4 from "aws4";
import type { CredentialRecord } from "../../table/routing-table.js";
import { AuthError } from "../../upstream/call.js";
import type { UpstreamRequest } from "../types.js";

/**
 * Bedrock authentication. A secret holding JSON access keys
 * (`{"accessKeyId", "secretAccessKey", "sessionToken"?}`) signs the request
 * with AWS Signature Version 4 (service `bedrock`, the credential's region);
 * any other secret is a Bedrock API key sent as `Authorization: Bearer`.
 *
 * The signature covers the exact bytes sent, the host of the credential's
 * base URL and the full path under it. Bedrock's paths carry URL-encoded
 * model ids (`...v1%3A0`); for every service but S3 the canonical path
 * encodes each segment once more (`v1%253A0`), which aws4 does. Nothing here
 * puts key material in an error message.
 */

/** AWS access keys parsed from a credential secret. */
export interface AwsKeys {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

const nonEmpty = (v: unknown): v is string => typeof v === "string" && v !== "";

/**
 * The access keys of a secret; undefined when it is not JSON (a Bedrock API
 * key). JSON that is not access keys throws: it must never travel as a bearer token.
 */
export function parseAwsKeys(secret: string): AwsKeys | undefined {
  const text = secret.trim();
  if (!text.startsWith("{")) return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new AuthError("the credential's secret looks like JSON but cannot be parsed");
  }
  const k = parsed as Record<string, unknown>;
  if (!nonEmpty(k.accessKeyId) || !nonEmpty(k.secretAccessKey)) {
    throw new AuthError("the credential's secret JSON needs accessKeyId and secretAccessKey");
  }
  if (k.sessionToken !== undefined && typeof k.sessionToken !== "string") {
    throw new AuthError("the credential's secret JSON has a sessionToken that is not a string");
  }
  return {
    accessKeyId: k.accessKeyId,
    secretAccessKey: k.secretAccessKey,
    ...(nonEmpty(k.sessionToken) ? { sessionToken: k.sessionToken } : {}),
  };
}

/** The region of a `bedrock-runtime.<region>.amazonaws.com` host, for credentials without the setting. */
function regionOfHost(hostname: string): string | undefined {
  return /^bedrock-runtime(?:-fips)?\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?$/.exec(hostname)?.[1];
}

/**
 * Signs `req` in place (headers lower-cased: host, x-amz-date, authorization,
 * x-amz-security-token with temporary keys) and returns it. `x-amz-date` already
 * on the request is used as the signing time (tests).
 */
export function signRequest(
  req: UpstreamRequest,
  keys: AwsKeys,
  origin: string,
  basePath: string,
  region: string,
): UpstreamRequest {
  const url = new URL(origin);
  const body = typeof req.body === "string" ? req.body : Buffer.from(req.body);
  // Content-Length is left unsigned (as AWS SDKs do) and to the HTTP client: aws4 adds and signs it otherwise.
  const options: aws4.Request & { extraHeadersToIgnore: Record<string, boolean> } = {
    host: url.host,
    method: "POST",
    path: basePath + req.path,
    service: "bedrock",
    region,
    body,
    headers: { ...req.headers },
    extraHeadersToIgnore: { "content-length": true },
  };
  const signed = aws4.sign(options, keys);
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(signed.headers ?? {})) {
    const key = name.toLowerCase();
    if (value === undefined || key === "content-length") continue;
    headers[key] = Array.isArray(value) ? value.join(",") : String(value);
  }
  req.headers = headers;
  return req;
}

/** The `aws-sigv4` auth style: SigV4 for JSON access keys, else a Bedrock API key as a bearer token. */
export function sigv4Auth(req: UpstreamRequest, credential: CredentialRecord): UpstreamRequest {
  const secret = credential.entry.secret;
  const keys = parseAwsKeys(secret);
  if (!keys) {
    if (secret) req.headers.authorization = `Bearer ${secret}`;
    return req;
  }
  const region = credential.entry.settings?.region || regionOfHost(new URL(credential.origin).hostname);
  if (!region) throw new AuthError("the credential has no region to sign for");
  return signRequest(req, keys, credential.origin, credential.basePath, region);
}
