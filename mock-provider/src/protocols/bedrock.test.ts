import { request } from "undici";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { contextOf } from "../../../test/helpers/provider-fixtures.js";
import { signRequest } from "../../../worker/src/providers/auth/sigv4.js";
import { createEventStreamDecoder } from "../../../worker/src/providers/bedrock/event-stream.js";
import { chatStream } from "../../../worker/src/providers/bedrock/stream.js";
import type { UpstreamRequest } from "../../../worker/src/providers/types.js";
import { type MockProvider, startMockProvider } from "../server.js";
import { canonicalUri, verifySigV4 } from "./bedrock-sigv4.js";

const AKID = "AKIAMOCKEXAMPLE";
const SECRET = "mock/secret+key";
const API_KEY = "ABSK-bedrock-api-key";
const MODEL = "anthropic.claude-3-5-sonnet-20240620-v1:0";
const EIGHT = "tok0 tok1 tok2 tok3 tok4 tok5 tok6 tok7";
const CONVERSE = {
  system: [{ text: "Be brief." }],
  messages: [{ role: "user", content: [{ text: "hello world!" }] }],
};
const TOOLS = { tools: [{ toolSpec: { name: "lookup", inputSchema: { json: { type: "object" } } } }] };

let mock: MockProvider;
let origin: string;

beforeAll(async () => {
  mock = await startMockProvider({ awsKeys: { [AKID]: SECRET }, apiKeys: [API_KEY] });
  origin = new URL(mock.url).origin;
});
afterAll(() => mock.close());
afterEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

const pathOf = (model: string, op: string) => `/model/${encodeURIComponent(model)}/${op}`;

/** A request signed by the gateway's signer (aws4), possibly altered after signing. */
function signed(path: string, body: unknown, secret = SECRET, accessKeyId = AKID): UpstreamRequest {
  const req: UpstreamRequest = {
    path,
    headers: { "content-type": "application/json" },
    body: JSON.stringify(body),
  };
  return signRequest(req, { accessKeyId, secretAccessKey: secret }, origin, "/bedrock", "us-east-1");
}

async function send(req: UpstreamRequest) {
  const res = await request(`${origin}/bedrock${req.path}`, {
    method: "POST",
    headers: req.headers,
    body: req.body,
  });
  const body = Buffer.from(await res.body.arrayBuffer());
  return { status: res.statusCode, headers: res.headers, body, json: () => JSON.parse(body.toString()) };
}

describe("bedrock protocol: SigV4", () => {
  it("accepts a request signed with aws4 for a model id holding ':' and counts it by access key and model", async () => {
    const res = await send(signed(pathOf(MODEL, "converse"), CONVERSE));
    expect(res.status).toBe(200);
    expect(res.json()).toMatchObject({
      output: { message: { role: "assistant", content: [{ text: EIGHT }] } },
      stopReason: "end_turn",
      usage: { inputTokens: 6, outputTokens: 8, totalTokens: 14 },
    });
    expect(mock.stats()).toEqual({ total: 1, byKey: { [AKID]: 1 }, byModel: { [MODEL]: 1 } });
  });

  it("verifies a signature computed by botocore (SigV4Auth, service bedrock)", () => {
    const headers = {
      host: "127.0.0.1:8099",
      "content-type": "application/json",
      accept: "application/json",
      "x-amz-date": "20240830T123600Z",
      authorization:
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20240830/eu-west-3/bedrock/aws4_request, " +
        "SignedHeaders=accept;content-type;host;x-amz-date, " +
        "Signature=fd03f5f3f28abec741893c901b64c1fe51a86e5e77bae0902d25f03f6952989c",
    };
    const body = Buffer.from('{"inputText":"héllo ✓"}');
    const secretOf = (id: string) =>
      id === "AKIDEXAMPLE" ? "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY" : undefined;
    const target = "/bedrock/model/amazon.titan-embed-text-v2%3A0/invoke";
    const now = Date.UTC(2024, 7, 30, 12, 40);
    expect(verifySigV4("POST", target, headers, body, secretOf, now)).toEqual({
      ok: true,
      accessKeyId: "AKIDEXAMPLE",
      region: "eu-west-3",
    });
    expect(verifySigV4("POST", target, headers, Buffer.from("{}"), secretOf, now).ok).toBe(false);
  });

  it("double-encodes path segments for the canonical URI", () => {
    expect(canonicalUri("/bedrock/model/a.b-v1%3A0/converse")).toBe("/bedrock/model/a.b-v1%253A0/converse");
  });

  it.each<[string, () => UpstreamRequest, string]>([
    [
      "a body changed after signing",
      () => ({ ...signed(pathOf(MODEL, "converse"), CONVERSE), body: JSON.stringify({ ...CONVERSE, x: 1 }) }),
      "InvalidSignatureException",
    ],
    [
      "a path changed after signing",
      () => ({
        ...signed(pathOf(MODEL, "converse"), CONVERSE),
        path: pathOf("other.model-v1:0", "converse"),
      }),
      "InvalidSignatureException",
    ],
    [
      "a path signed without encoding the ':'",
      () => {
        const req = signed(`/model/${MODEL}/converse`, CONVERSE);
        return { ...req, path: pathOf(MODEL, "converse") };
      },
      "InvalidSignatureException",
    ],
    [
      "the wrong secret",
      () => signed(pathOf(MODEL, "converse"), CONVERSE, "wrong"),
      "InvalidSignatureException",
    ],
    [
      "an unknown access key",
      () => signed(pathOf(MODEL, "converse"), CONVERSE, SECRET, "AKIAUNKNOWN"),
      "UnrecognizedClientException",
    ],
    [
      "an x-amz-date outside the 15-minute window",
      () => {
        const req: UpstreamRequest = {
          path: pathOf(MODEL, "converse"),
          headers: { "content-type": "application/json", "x-amz-date": "20200101T000000Z" },
          body: JSON.stringify(CONVERSE),
        };
        return signRequest(
          req,
          { accessKeyId: AKID, secretAccessKey: SECRET },
          origin,
          "/bedrock",
          "us-east-1",
        );
      },
      "InvalidSignatureException",
    ],
    [
      "no Authorization header",
      () => ({ path: pathOf(MODEL, "converse"), headers: {}, body: JSON.stringify(CONVERSE) }),
      "MissingAuthenticationTokenException",
    ],
    [
      "a Bedrock API key that is not accepted",
      () => ({ path: pathOf(MODEL, "converse"), headers: { authorization: "Bearer nope" }, body: "{}" }),
      "UnrecognizedClientException",
    ],
  ])("refuses %s with 403 in Bedrock's shape", async (_name, build, errorType) => {
    const res = await send(build());
    expect(res.status).toBe(403);
    expect(String(res.headers["x-amzn-errortype"]).split(":")[0]).toBe(errorType);
    expect(typeof res.json().message).toBe("string");
    expect(mock.stats().total).toBe(0);
  });

  it("accepts a Bedrock API key as a bearer token", async () => {
    const res = await send({
      path: pathOf(MODEL, "converse"),
      headers: { authorization: `Bearer ${API_KEY}`, "content-type": "application/json" },
      body: JSON.stringify(CONVERSE),
    });
    expect(res.status).toBe(200);
    expect(mock.stats().byKey).toEqual({ [API_KEY]: 1 });
  });

  it("derives secrets with a function", async () => {
    const derived = await startMockProvider({
      awsKeys: (id) => (id.startsWith("AKIA") ? `${id}-secret` : undefined),
    });
    try {
      const o = new URL(derived.url).origin;
      const req = signRequest(
        {
          path: pathOf(MODEL, "converse"),
          headers: { "content-type": "application/json" },
          body: JSON.stringify(CONVERSE),
        },
        { accessKeyId: "AKIAFN", secretAccessKey: "AKIAFN-secret" },
        o,
        "/bedrock",
        "eu-west-1",
      );
      const res = await request(`${o}/bedrock${req.path}`, {
        method: "POST",
        headers: req.headers,
        body: req.body,
      });
      expect(res.statusCode).toBe(200);
      await res.body.dump();
    } finally {
      await derived.close();
    }
  });
});

describe("bedrock protocol: replies", () => {
  it("streams frames with valid CRCs that the gateway's decoder and translator read", async () => {
    const res = await send(signed(pathOf(MODEL, "converse-stream"), CONVERSE));
    expect(res.headers["content-type"]).toBe("application/vnd.amazon.eventstream");
    const frames = createEventStreamDecoder().push(res.body);
    expect(frames.map((f) => f.headers[":event-type"])).toEqual([
      "messageStart",
      ...Array(8).fill("contentBlockDelta"),
      "contentBlockStop",
      "messageStop",
      "metadata",
    ]);
    const ctx = contextOf({ provider: "bedrock", endpoint: "chat", stream: true, upstreamModel: MODEL });
    const t = chatStream(ctx, { stripUsage: true });
    const sse = `${t.transform(res.body)}${t.end()}`;
    const text = [...sse.matchAll(/"content":"([^"]*)"/g)].map((m) => m[1]).join("");
    expect(text).toBe(EIGHT);
    expect(t.usage()).toMatchObject({ promptTokens: 6, completionTokens: 8 });
  });

  it("streams a tool call as toolUse start and input fragments", async () => {
    const res = await send(signed(pathOf(MODEL, "converse-stream"), { ...CONVERSE, toolConfig: TOOLS }));
    const frames = createEventStreamDecoder().push(res.body);
    const payloads = frames.map((f) => JSON.parse(f.payload.toString()));
    expect(payloads[1]).toMatchObject({ start: { toolUse: { name: "lookup" } } });
    const input = payloads.map((p) => p.delta?.toolUse?.input ?? "").join("");
    expect(JSON.parse(input)).toEqual({ query: "mock" });
    expect(payloads.find((p) => p.stopReason)).toEqual({ stopReason: "tool_use" });
  });

  it("answers Titan and Cohere embeddings through invoke", async () => {
    const titan = await send(
      signed(pathOf("amazon.titan-embed-text-v2:0", "invoke"), { inputText: "first" }),
    );
    expect(titan.json()).toMatchObject({ inputTextTokenCount: 2 });
    expect(titan.json().embedding).toHaveLength(8);
    const cohere = await send(
      signed(pathOf("cohere.embed-english-v3", "invoke"), {
        texts: ["a", "b"],
        input_type: "search_document",
      }),
    );
    expect(cohere.json().embeddings).toHaveLength(2);
    const unknown = await send(signed(pathOf("meta.llama3", "invoke"), { inputText: "x" }));
    expect(unknown.status).toBe(400);
  });

  it("refuses a body that is not a conversation with a ValidationException", async () => {
    const res = await send(signed(pathOf(MODEL, "converse"), { messages: [] }));
    expect(res.status).toBe(400);
    expect(String(res.headers["x-amzn-errortype"])).toMatch(/^ValidationException/);
  });
});

describe("bedrock protocol: fault rules", () => {
  it("answers a status rule in Bedrock's error shape with retry-after", async () => {
    mock.setFaults([
      { match: { apiKey: AKID, model: MODEL, route: "chat" }, status: 429, retryAfter: "3", times: 1 },
    ]);
    const res = await send(signed(pathOf(MODEL, "converse"), CONVERSE));
    expect(res.status).toBe(429);
    expect(String(res.headers["x-amzn-errortype"])).toMatch(/^ThrottlingException:/);
    expect(res.headers["retry-after"]).toBe("3");
    expect(res.json()).toEqual({ message: "mock error 429" });
    expect((await send(signed(pathOf(MODEL, "converse"), CONVERSE))).status).toBe(200);
  });

  it("sends a streamError rule as an exception frame after the content chunks", async () => {
    mock.setFaults([
      {
        match: { stream: true },
        streamError: { code: "throttlingException", message: "slow" },
        afterChunks: 2,
      },
    ]);
    const res = await send(signed(pathOf(MODEL, "converse-stream"), CONVERSE));
    const frames = createEventStreamDecoder().push(res.body);
    expect(frames).toHaveLength(4);
    expect(frames[3]?.headers).toMatchObject({
      ":message-type": "exception",
      ":exception-type": "throttlingException",
    });
  });

  it("resets the connection before headers and delays by latencyMs", async () => {
    mock.setFaults([{ match: { route: "embeddings" }, reset: "before-headers", times: 1 }]);
    await expect(
      send(signed(pathOf("amazon.titan-embed-text-v2:0", "invoke"), { inputText: "x" })),
    ).rejects.toThrow();
    mock.setFaults([{ latencyMs: 150, times: 1 }]);
    const started = Date.now();
    expect((await send(signed(pathOf(MODEL, "converse"), CONVERSE))).status).toBe(200);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it("sends a corrupted frame for malformed streams", async () => {
    mock.setFaults([{ match: { stream: true }, malformed: "sse", times: 1 }]);
    const res = await send(signed(pathOf(MODEL, "converse-stream"), CONVERSE));
    expect(() => createEventStreamDecoder().push(res.body)).toThrow(/CRC/);
  });
});
