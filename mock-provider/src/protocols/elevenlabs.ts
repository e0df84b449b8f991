/**
 * Text to speech as the mock serves it: ElevenLabs' API under "/elevenlabs"
 * (a credential's base URL is `<origin>/elevenlabs`: `POST
 * /v1/text-to-speech/{voice}[/stream]?output_format=…` with `xi-api-key`,
 * FastAPI `{"detail"}` errors), and OpenAI's `POST /v1/audio/speech` (Bearer
 * key, OpenAI errors), which Azure deployments reuse. The audio is
 * deterministic stand-in bytes (an ID3 header and the text for mp3, …), sent
 * in a few chunks paced by `chunkIntervalMs`.
 */
import type { OutgoingHttpHeaders, ServerResponse } from "node:http";
import type { CompiledFault } from "../fault-table.js";
import type { FaultRoute } from "../faults.js";
import { later, paced, retryHeaders, sendJson, takeFault } from "../handlers.js";
import { errorJson } from "../openai-shapes.js";
import { bearerToken } from "../plan.js";
import type { MockEnv, NativeProtocol, NativeRequest } from "./types.js";

type Json = Record<string, unknown>;

const isObject = (v: unknown): v is Json => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * Fault rules name no speech route: speech requests match only rules without
 * `match.route` (a route value no rule can name), and never `match.stream: true`.
 */
const SPEECH_ROUTE: FaultRoute = "speech";

/** Content types of audio families: OpenAI `response_format` values and ElevenLabs format prefixes. */
export const AUDIO_CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
  ulaw: "audio/basic",
  alaw: "audio/x-alaw-basic",
};

/** A magic prefix per family, so a client can tell formats apart (the bytes are not playable audio). */
const AUDIO_MAGIC: Readonly<Record<string, Buffer>> = {
  // An ID3v2.4 tag header with an empty tag.
  mp3: Buffer.from([0x49, 0x44, 0x33, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00]),
  opus: Buffer.from("OggS", "latin1"),
  aac: Buffer.from([0xff, 0xf1]),
  flac: Buffer.from("fLaC", "latin1"),
  wav: Buffer.from("RIFF\0\0\0\0WAVE", "latin1"),
};

/** Deterministic stand-in audio: the family's magic bytes (none for pcm, ulaw, alaw), then the UTF-8 text. */
export function mockAudio(text: string, family: string): Buffer {
  return Buffer.concat([AUDIO_MAGIC[family] ?? Buffer.alloc(0), Buffer.from(text, "utf8")]);
}

/** Pieces the audio streams in. */
const AUDIO_CHUNKS = 4;

/** Writes audio in up to four chunks, one per `chunkIntervalMs` (head and first chunk at once). */
function sendAudio(
  res: ServerResponse,
  audio: Buffer,
  contentType: string,
  fault: CompiledFault | undefined,
  env: MockEnv,
) {
  const size = Math.ceil(audio.length / AUDIO_CHUNKS) || 1;
  const pieces: Buffer[] = [];
  for (let i = 0; i < audio.length; i += size) pieces.push(audio.subarray(i, i + size));
  const headers: OutgoingHttpHeaders = { "content-type": contentType, "cache-control": "no-store" };
  paced(
    res,
    { head: "", count: pieces.length, delta: (i) => pieces[i] ?? "", tail: () => "" },
    {
      chunkIntervalMs: fault?.chunkIntervalMs ?? env.config.chunkIntervalMs,
      failAfterChunks: -1,
      errorFrame: undefined,
    },
    headers,
  );
}

/**
 * A fault rule's outcome for a speech request: a status in the provider's
 * error shape (`errorBody(status, rule)`), a reset, a malformed reply (200
 * JSON cut short, or an empty audio body); false when it has none.
 */
/** A provider's error body for a status, message and a rule's error code. */
type ErrorBody = (status: number, message: string, code: string | undefined) => string;

function sendFault(request: NativeRequest, fault: CompiledFault, errorBody: ErrorBody): boolean {
  const { req, res } = request;
  const { outcome, rule } = fault;
  if (outcome === undefined) return false;
  if (outcome.kind === "status") {
    if (rule.body !== undefined) {
      res.writeHead(outcome.status, outcome.headers);
      res.end(outcome.body);
    } else {
      const message = rule.message ?? `mock error ${outcome.status}`;
      sendJson(res, outcome.status, errorBody(outcome.status, message, rule.errorCode), retryHeaders(rule));
    }
  } else if (outcome.kind === "reset") {
    if (outcome.when === "before-headers") req.socket.destroy();
    else {
      res.writeHead(200, { "content-type": "audio/mpeg" });
      res.flushHeaders();
      res.write(mockAudio("", "mp3"), () => res.socket?.destroy());
    }
  } else if (outcome.what === "json") {
    sendJson(res, 200, '{"audio_base64":"SUQz');
  } else {
    res.writeHead(200, { "content-type": "audio/mpeg", "content-length": 0 });
    res.end();
  }
  return true;
}

/** ElevenLabs' `detail.status` for an HTTP status (a rule's `errorCode` wins). */
function detailStatus(status: number): string {
  if (status === 401) return "invalid_api_key";
  if (status === 404) return "voice_not_found";
  if (status === 429) return "too_many_concurrent_requests";
  return status >= 500 ? "internal_server_error" : "invalid_request";
}

/** ElevenLabs' error body: `{"detail":{"status","message"}}`. */
export function elevenlabsErrorJson(status: number, message: string, code?: string): string {
  return JSON.stringify({ detail: { status: code ?? detailStatus(status), message } });
}

const OUTPUT_FORMAT = /^(mp3|pcm|opus|wav|ulaw|alaw)_\d+(_\d+)?$/;
const TTS_PATH = /^\/v1\/text-to-speech\/[^/]+(\/stream)?$/;

/** An answer instead of audio: a status and its error body. */
interface Rejection {
  status: number;
  body: string;
}

/** What a speech request asks for, once checked. */
interface Speech {
  key: string;
  model: string;
  text: string;
  /** Audio family: mp3, opus, pcm, … */
  family: string;
  contentType: string;
}

function parse(raw: Buffer): Json | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return isObject(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

const elevenlabsReject = (status: number, message: string, code?: string): Rejection => ({
  status,
  body: elevenlabsErrorJson(status, message, code),
});

/** An ElevenLabs TTS request checked: path, method, `xi-api-key`, body `text`, `output_format`. */
function checkElevenLabs(request: NativeRequest, env: MockEnv): Speech | Rejection {
  const { req, path, query } = request;
  if (!TTS_PATH.test(path)) return elevenlabsReject(404, `Not found: ${path}`, "not_found");
  if (req.method !== "POST") return elevenlabsReject(405, `Method ${req.method ?? ""} not allowed`);
  const header = req.headers["xi-api-key"];
  const key = typeof header === "string" ? header : "";
  if (env.config.apiKeys.size !== 0 && !env.config.apiKeys.has(key)) {
    return elevenlabsReject(401, "Invalid API key");
  }
  const body = parse(request.body);
  if (body === undefined || typeof body.text !== "string" || body.text === "") {
    const detail = [{ loc: ["body", "text"], msg: "field required", type: "value_error.missing" }];
    return { status: 422, body: JSON.stringify({ detail }) };
  }
  const format = query.get("output_format") ?? "mp3_44100_128";
  if (!OUTPUT_FORMAT.test(format)) {
    return elevenlabsReject(400, `Invalid output format: ${format}`, "invalid_output_format");
  }
  const family = format.slice(0, format.indexOf("_"));
  return {
    key,
    model: typeof body.model_id === "string" ? body.model_id : "eleven_multilingual_v2",
    text: body.text,
    family,
    contentType: AUDIO_CONTENT_TYPES[family] ?? "audio/mpeg",
  };
}

/** Counts the request, applies fault rules, then streams the audio. */
function speak(request: NativeRequest, env: MockEnv, s: Speech, errorBody: ErrorBody): void {
  env.stats.count(s.key, s.model);
  const fault = takeFault(env, s.key, s.model, false, SPEECH_ROUTE);
  later(request.res, fault?.latencyMs ?? env.config.latencyMs, () => {
    if (fault && sendFault(request, fault, errorBody)) return;
    sendAudio(request.res, mockAudio(s.text, s.family), s.contentType, fault, env);
  });
}

function handleElevenLabs(request: NativeRequest, env: MockEnv): void {
  const checked = checkElevenLabs(request, env);
  if ("status" in checked) sendJson(request.res, checked.status, checked.body);
  else speak(request, env, checked, elevenlabsErrorJson);
}

/** OpenAI's error body with a rule's code. */
const openaiError = (status: number, message: string, code: string | undefined) => {
  const body = JSON.parse(errorJson(status, message)) as { error: Json };
  if (code !== undefined) body.error.code = code;
  return JSON.stringify(body);
};

const openaiReject = (status: number, message: string, param: string | null = null): Rejection => ({
  status,
  body: errorJson(status, message, param),
});

/** An OpenAI speech body checked: `{model, input, voice, response_format}` (`model` may come from the path). */
function checkOpenAISpeech(request: NativeRequest, key: string, model?: string): Speech | Rejection {
  const body = parse(request.body);
  if (body === undefined) return openaiReject(400, "We could not parse the JSON body of your request.");
  const name = model ?? body.model;
  if (typeof name !== "string" || name === "") {
    return openaiReject(400, "you must provide a model parameter", "model");
  }
  if (typeof body.input !== "string" || body.input === "") {
    return openaiReject(400, "'input' is required", "input");
  }
  if (typeof body.voice !== "string" || body.voice === "") {
    return openaiReject(400, "'voice' is required", "voice");
  }
  const family = body.response_format ?? "mp3";
  const contentType = typeof family === "string" ? OPENAI_FORMATS[family] : undefined;
  if (contentType === undefined || typeof family !== "string") {
    return openaiReject(400, "'response_format' must be mp3, opus, aac, flac, wav or pcm", "response_format");
  }
  return { key, model: name, text: body.input, family, contentType };
}

const OPENAI_FORMATS: Readonly<Record<string, string>> = Object.fromEntries(
  ["mp3", "opus", "aac", "flac", "wav", "pcm"].map((f) => [f, AUDIO_CONTENT_TYPES[f] as string]),
);

/**
 * OpenAI `POST /v1/audio/speech` after authentication (`key` for the
 * counters): audio of the requested `response_format`. Shared with Azure
 * deployments, which pass the deployment as the model.
 */
export function serveOpenAISpeech(request: NativeRequest, env: MockEnv, key: string, model?: string): void {
  const checked = checkOpenAISpeech(request, key, model);
  if ("status" in checked) sendJson(request.res, checked.status, checked.body);
  else speak(request, env, checked, openaiError);
}

function handleOpenAISpeech(request: NativeRequest, env: MockEnv): void {
  const { req, res, path } = request;
  const key = bearerToken(req.headers.authorization) ?? "";
  let rejection: Rejection | undefined;
  if (path !== "/speech") rejection = openaiReject(404, `Invalid URL (${req.method} ${req.url})`);
  else if (req.method !== "POST") rejection = openaiReject(405, `Method ${req.method} not allowed`);
  else if (env.config.apiKeys.size !== 0 && !env.config.apiKeys.has(key)) {
    rejection = openaiReject(401, "Incorrect API key provided.");
  }
  if (rejection) sendJson(res, rejection.status, rejection.body);
  else serveOpenAISpeech(request, env, key);
}

/** ElevenLabs text to speech under `/elevenlabs`. */
export const elevenlabsProtocol: NativeProtocol = { prefix: "/elevenlabs", handle: handleElevenLabs };

/** OpenAI's `/v1/audio/speech` (the mock's OpenAI routes know chat, embeddings and models only). */
export const openaiSpeechProtocol: NativeProtocol = { prefix: "/v1/audio", handle: handleOpenAISpeech };

/** The same without the `/v1` prefix, as the mock's other OpenAI routes allow. */
export const openaiSpeechNoPrefixProtocol: NativeProtocol = { prefix: "/audio", handle: handleOpenAISpeech };
