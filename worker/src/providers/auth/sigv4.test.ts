import { create } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { findProvider, type ProviderInfo } from "../../../../lib/src/provider-catalog.js";
import { ProviderSettingsSchema } from "../../../../proto/gen/llmgateway/v1/common_pb.js";
import { CredentialEntrySchema } from "../../../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CredentialRecord } from "../../table/routing-table.js";
import { AuthError } from "../../upstream/call.js";
import type { UpstreamRequest } from "../types.js";
import { parseAwsKeys, sigv4Auth } from "./sigv4.js";

const AKID = "AKIDEXAMPLE";
const SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
const DATE = "20240830T123600Z";
const BODY = '{"messages":[{"role":"user","content":[{"text":"Hello"}]}]}';

function credential(secret: string, baseUrl: string, region = "us-east-1"): CredentialRecord {
  const provider = findProvider("bedrock") as ProviderInfo;
  const url = new URL(baseUrl);
  return {
    id: "c1",
    orgId: "o1",
    provider,
    entry: create(CredentialEntrySchema, {
      id: "c1",
      provider: "bedrock",
      secret,
      settings: create(ProviderSettingsSchema, { baseUrl, region }),
    }),
    origin: url.origin,
    basePath: url.pathname.replace(/\/+$/, ""),
    models: new Set(),
  };
}

const request = (path: string, body: string | Uint8Array = BODY, extra: Record<string, string> = {}) =>
  ({
    path,
    headers: { "content-type": "application/json", "x-amz-date": DATE, ...extra },
    body,
  }) satisfies UpstreamRequest;

const keys = (sessionToken?: string) =>
  JSON.stringify({ accessKeyId: AKID, secretAccessKey: SECRET, ...(sessionToken ? { sessionToken } : {}) });

// Expected values computed with botocore 1.43.11 (SigV4Auth, service "bedrock"), an
// implementation independent of aws4, on the same requests at 2024-08-30T12:36:00Z.
describe("sigv4Auth against botocore's signatures", () => {
  it("signs a Converse request whose model id holds ':' (double-encoded canonical path)", async () => {
    const req = request("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    const out = await sigv4Auth(req, credential(keys(), "https://bedrock-runtime.us-east-1.amazonaws.com"));
    expect(out.headers).toEqual({
      "content-type": "application/json",
      "x-amz-date": DATE,
      host: "bedrock-runtime.us-east-1.amazonaws.com",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240830/us-east-1/bedrock/aws4_request, " +
        "SignedHeaders=content-type;host;x-amz-date, " +
        "Signature=dff3c45ab0d3586ab2a410896534507de88c90f1826e16c695208dee2a367aa1",
    });
    expect(out.path).toBe("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    expect(out.body).toBe(BODY);
  });

  it("signs the session token of temporary credentials", async () => {
    const req = request("/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse");
    const out = await sigv4Auth(
      req,
      credential(keys("session-token-example"), "https://bedrock-runtime.us-east-1.amazonaws.com"),
    );
    expect(out.headers["x-amz-security-token"]).toBe("session-token-example");
    expect(out.headers.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240830/us-east-1/bedrock/aws4_request, " +
        "SignedHeaders=content-type;host;x-amz-date;x-amz-security-token, " +
        "Signature=1cc869916752033e1c75821c6c77a5d9e8d2f9322bda7378d05a1adc69774583",
    );
  });

  it("signs the base path, a host with a port, the region setting and UTF-8 bytes", async () => {
    const body = new TextEncoder().encode('{"inputText":"héllo ✓"}');
    const req = request("/model/amazon.titan-embed-text-v2%3A0/invoke", body, { accept: "application/json" });
    const out = await sigv4Auth(req, credential(keys(), "http://127.0.0.1:8099/bedrock", "eu-west-3"));
    expect(out.headers.host).toBe("127.0.0.1:8099");
    expect(out.headers.authorization).toBe(
      "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240830/eu-west-3/bedrock/aws4_request, " +
        "SignedHeaders=accept;content-type;host;x-amz-date, " +
        "Signature=fd03f5f3f28abec741893c901b64c1fe51a86e5e77bae0902d25f03f6952989c",
    );
    expect(out.body).toBe(body);
  });

  it("leaves content-length to the HTTP client (unsigned)", async () => {
    const out = await sigv4Auth(
      request("/model/m/converse"),
      credential(keys(), "https://bedrock-runtime.us-east-1.amazonaws.com"),
    );
    expect(Object.keys(out.headers)).not.toContain("content-length");
    expect(out.headers.authorization).toContain("SignedHeaders=content-type;host;x-amz-date,");
  });

  it("signs with the current time when the request has no x-amz-date", async () => {
    const req: UpstreamRequest = { path: "/model/m/converse", headers: {}, body: "{}" };
    const out = await sigv4Auth(req, credential(keys(), "https://bedrock-runtime.us-east-1.amazonaws.com"));
    const today = new Date().toISOString().slice(0, 10).replaceAll("-", "");
    expect(out.headers["x-amz-date"]?.slice(0, 8)).toBe(today);
  });

  it("takes the region from a bedrock-runtime host when the setting is empty", async () => {
    const req = request("/model/m/converse");
    const out = await sigv4Auth(
      req,
      credential(keys(), "https://bedrock-runtime.ap-south-1.amazonaws.com", ""),
    );
    expect(out.headers.authorization).toContain("/20240830/ap-south-1/bedrock/aws4_request");
  });
});

describe("sigv4Auth with a Bedrock API key", () => {
  it("sends a secret that is not JSON as a bearer token", async () => {
    const req = request("/model/m/converse");
    const out = await sigv4Auth(
      req,
      credential("ABSKbedrock-api-key", "https://bedrock-runtime.us-east-1.amazonaws.com"),
    );
    expect(out.headers.authorization).toBe("Bearer ABSKbedrock-api-key");
    expect(out.headers.host).toBeUndefined();
  });
});

describe("sigv4Auth refusals never quote the keys", () => {
  it.each([
    ["JSON that does not parse", `{"accessKeyId":"${AKID}","secretAccessKey":"${SECRET}"`],
    ["JSON without the secret key", JSON.stringify({ accessKeyId: AKID })],
    [
      "a non-string session token",
      JSON.stringify({ accessKeyId: AKID, secretAccessKey: SECRET, sessionToken: 1 }),
    ],
  ])("refuses %s", (_name, secret) => {
    let thrown: unknown;
    try {
      sigv4Auth(
        request("/model/m/converse"),
        credential(secret, "https://bedrock-runtime.us-east-1.amazonaws.com"),
      );
    } catch (err) {
      thrown = err;
    }
    expect(thrown).toBeInstanceOf(AuthError);
    const message = (thrown as Error).message;
    expect(message).not.toContain(AKID);
    expect(message).not.toContain(SECRET);
  });

  it("refuses to sign without a region", () => {
    expect(() =>
      sigv4Auth(request("/model/m/converse"), credential(keys(), "http://127.0.0.1:1/bedrock", "")),
    ).toThrow(AuthError);
  });

  it("parses keys with and without a session token", () => {
    expect(parseAwsKeys(keys())).toEqual({ accessKeyId: AKID, secretAccessKey: SECRET });
    expect(parseAwsKeys(keys("t"))).toEqual({
      accessKeyId: AKID,
      secretAccessKey: SECRET,
      sessionToken: "t",
    });
    expect(parseAwsKeys("plain-key")).toBeUndefined();
  });
});
