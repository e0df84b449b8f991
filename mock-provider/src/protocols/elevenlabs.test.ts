import OpenAI from "openai";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { type MockProvider, startMockProvider } from "../server.js";
import { mockAudio } from "./elevenlabs.js";

const KEY = "xi-mock-key";
const VOICE = "21m00Tcm4TlvDq8ikWAM";

let mock: MockProvider;
let origin: string;

beforeAll(async () => {
  mock = await startMockProvider({ apiKeys: [KEY], chunkIntervalMs: 0 });
  origin = new URL(mock.url).origin;
});
afterAll(() => mock.close());
afterEach(() => {
  mock.clearFaults();
  mock.resetStats();
});

function tts(path: string, body: unknown, key = KEY) {
  return fetch(`${origin}/elevenlabs${path}`, {
    method: "POST",
    headers: { "xi-api-key": key, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
}

describe("elevenlabs protocol", () => {
  it("streams deterministic mp3 bytes (an ID3 header and the text) by default", async () => {
    const res = await tts(`/v1/text-to-speech/${VOICE}/stream`, {
      text: "Hello there",
      model_id: "eleven_multilingual_v2",
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("audio/mpeg");
    const audio = Buffer.from(await res.arrayBuffer());
    expect(audio.subarray(0, 3).toString("latin1")).toBe("ID3");
    expect(audio.equals(mockAudio("Hello there", "mp3"))).toBe(true);
    expect(mock.stats()).toEqual({ total: 1, byKey: { [KEY]: 1 }, byModel: { eleven_multilingual_v2: 1 } });
  });

  it.each([
    ["opus_48000_128", "audio/opus", "OggS"],
    ["pcm_24000", "audio/pcm", "Hi"],
    ["wav_24000", "audio/wav", "RIFF"],
  ])("answers output_format %s with %s", async (format, type, start) => {
    const res = await tts(`/v1/text-to-speech/${VOICE}?output_format=${format}`, { text: "Hi" });
    expect(res.headers.get("content-type")).toBe(type);
    expect(
      Buffer.from(await res.arrayBuffer())
        .toString("latin1")
        .startsWith(start),
    ).toBe(true);
  });

  it("rejects a wrong key, a missing text and an unknown format in ElevenLabs' shapes", async () => {
    const wrong = await tts(`/v1/text-to-speech/${VOICE}`, { text: "Hi" }, "nope");
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({ detail: { status: "invalid_api_key", message: "Invalid API key" } });
    const missing = await tts(`/v1/text-to-speech/${VOICE}`, {});
    expect(missing.status).toBe(422);
    const detail = ((await missing.json()) as { detail: Array<{ loc: string[] }> }).detail;
    expect(detail[0]?.loc).toEqual(["body", "text"]);
    const format = await tts(`/v1/text-to-speech/${VOICE}?output_format=aac`, { text: "Hi" });
    expect(format.status).toBe(400);
    expect(mock.stats().total).toBe(0);
  });

  it("applies fault rules: status with its error code and retry-after, reset before headers", async () => {
    mock.setFaults([
      { status: 429, errorCode: "quota_exceeded", message: "out of credits", retryAfter: "5", times: 1 },
    ]);
    const res = await tts(`/v1/text-to-speech/${VOICE}/stream`, { text: "Hi" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("5");
    expect(await res.json()).toEqual({ detail: { status: "quota_exceeded", message: "out of credits" } });
    mock.setFaults([{ match: { route: "chat" }, status: 500 }]);
    expect((await tts(`/v1/text-to-speech/${VOICE}`, { text: "Hi" })).status).toBe(200);
    mock.setFaults([{ reset: "before-headers", times: 1 }]);
    await expect(tts(`/v1/text-to-speech/${VOICE}`, { text: "Hi" })).rejects.toThrow();
  });

  it("paces the audio chunks by the fault rule's chunk interval", async () => {
    mock.setFaults([{ chunkIntervalMs: 30 }]);
    const started = performance.now();
    await (
      await tts(`/v1/text-to-speech/${VOICE}/stream`, { text: "Hello there, a longer text" })
    ).arrayBuffer();
    expect(performance.now() - started).toBeGreaterThanOrEqual(80);
  });
});

describe("OpenAI /v1/audio/speech", () => {
  it("answers the OpenAI SDK with audio of the requested format", async () => {
    const client = new OpenAI({ baseURL: mock.url, apiKey: KEY, maxRetries: 0 });
    const res = await client.audio.speech.create({
      model: "tts-1",
      voice: "alloy",
      input: "Hi",
      response_format: "wav",
    });
    expect(res.headers.get("content-type")).toBe("audio/wav");
    expect(Buffer.from(await res.arrayBuffer()).equals(mockAudio("Hi", "wav"))).toBe(true);
    const mp3 = await client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "Hi" });
    expect(mp3.headers.get("content-type")).toBe("audio/mpeg");
    expect(mock.stats().byModel).toEqual({ "tts-1": 2 });
  });

  it("checks the key and the body in OpenAI's shapes, with or without /v1", async () => {
    const post = (path: string, body: unknown, key = KEY) =>
      fetch(`${origin}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}` },
        body: JSON.stringify(body),
      });
    const wrong = await post("/v1/audio/speech", { model: "m", voice: "v", input: "x" }, "nope");
    expect(wrong.status).toBe(401);
    const error = (body: unknown) => (body as { error: { code: string; param: string } }).error;
    expect(error(await wrong.json()).code).toBe("invalid_api_key");
    const bad = await post("/audio/speech", { model: "m", voice: "v", input: "x", response_format: "ogg" });
    expect(bad.status).toBe(400);
    expect(error(await bad.json()).param).toBe("response_format");
    expect((await post("/audio/speech", { model: "m", voice: "v", input: "x" })).status).toBe(200);
  });

  it("applies status rules in OpenAI's shape", async () => {
    mock.setFaults([{ match: { model: "tts-1" }, status: 503, times: 1 }]);
    const client = new OpenAI({ baseURL: mock.url, apiKey: KEY, maxRetries: 0 });
    await expect(
      client.audio.speech.create({ model: "tts-1", voice: "alloy", input: "Hi" }),
    ).rejects.toMatchObject({
      status: 503,
    });
  });
});
