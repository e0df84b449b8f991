import type { IncomingHttpHeaders } from "node:http";
import { GatewayError } from "../../http/errors.js";
import { pathFor } from "../shared/paths.js";
import type { CallContext, UpstreamRequest } from "../types.js";

/**
 * OpenAI `response_format` → ElevenLabs `output_format`:
 * - mp3 (OpenAI's default) → mp3_44100_128
 * - opus → opus_48000_128
 * - pcm → pcm_24000 (OpenAI's pcm is 24 kHz 16-bit little-endian mono, headerless; so is this)
 * - wav → wav_24000 (a WAV container; the 44.1 kHz variant needs a higher ElevenLabs tier)
 * An ElevenLabs format name itself (`mp3_22050_32`, `ulaw_8000`, …) passes
 * through. aac and flac have no ElevenLabs equivalent: they are refused (400)
 * rather than answered in another format.
 */
export const OUTPUT_FORMATS: Readonly<Record<string, string>> = {
  mp3: "mp3_44100_128",
  opus: "opus_48000_128",
  pcm: "pcm_24000",
  wav: "wav_24000",
};

const NATIVE_FORMAT = /^(mp3|opus|pcm|wav|ulaw|alaw)_\d+(_\d+)?$/;

/** Content types of ElevenLabs output format families. */
const CONTENT_TYPES: Readonly<Record<string, string>> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  pcm: "audio/pcm",
  wav: "audio/wav",
  ulaw: "audio/basic",
  alaw: "audio/x-alaw-basic",
};

/** ElevenLabs accepts voice_settings.speed within this range; OpenAI's 0.25–4 is clamped to it. */
const SPEED = { min: 0.7, max: 1.2 } as const;

/** The ElevenLabs output format for the client's `response_format` (mp3 when absent); undefined when there is none. */
export function outputFormat(body: Record<string, unknown>): string | undefined {
  const given = body.response_format ?? "mp3";
  if (typeof given !== "string") return undefined;
  return NATIVE_FORMAT.test(given) ? given : OUTPUT_FORMATS[given];
}

const refuse = (message: string, param: string) => new GatewayError("invalid_request", message, param);

/**
 * OpenAI `POST /v1/audio/speech` {model, input, voice, response_format, speed}
 * → ElevenLabs `POST /v1/text-to-speech/{voice}/stream?output_format=…` with
 * `{text, model_id, voice_settings: {speed}}` (voice_settings only when a
 * speed is given; `instructions` has no ElevenLabs counterpart and is dropped).
 * The streaming route lets the audio reach the client as it is made. `voice`
 * is an ElevenLabs voice id (OpenAI's names such as `alloy` are not
 * translated) and is required; a format ElevenLabs cannot make is refused.
 */
export function speechRequest(body: Record<string, unknown>, ctx: CallContext): UpstreamRequest {
  const { voice } = body;
  if (typeof voice !== "string" || voice === "") {
    throw refuse("ElevenLabs needs 'voice': a voice id", "voice");
  }
  const format = outputFormat(body);
  if (format === undefined) {
    throw refuse(
      "ElevenLabs makes mp3, opus, pcm and wav (or its own output_format names), not this response_format",
      "response_format",
    );
  }
  const template = pathFor(ctx, "speech", "/v1/text-to-speech/{voice}/stream");
  const path = template.replaceAll("{voice}", encodeURIComponent(voice));
  const query = `output_format=${encodeURIComponent(format)}`;
  const out: Record<string, unknown> = { text: body.input, model_id: ctx.target.upstreamModel };
  if (typeof body.speed === "number" && Number.isFinite(body.speed)) {
    out.voice_settings = { speed: Math.min(SPEED.max, Math.max(SPEED.min, body.speed)) };
  }
  return {
    path: `${path}${path.includes("?") ? "&" : "?"}${query}`,
    headers: { "content-type": "application/json", accept: "audio/*" },
    body: JSON.stringify(out),
  };
}

/** The provider's audio content type, else the one the requested output format implies. */
export function contentType(upstream: IncomingHttpHeaders, body: Record<string, unknown>): string {
  const given = upstream["content-type"];
  if (typeof given === "string" && given.startsWith("audio/")) return given;
  const family = (outputFormat(body) ?? "mp3").split("_")[0] ?? "mp3";
  return CONTENT_TYPES[family] ?? "application/octet-stream";
}
