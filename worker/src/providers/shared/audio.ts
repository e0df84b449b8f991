import type { IncomingHttpHeaders } from "node:http";

/** Content types of OpenAI's `response_format` values for /v1/audio/speech. */
export const AUDIO_TYPES: Readonly<Record<string, string>> = {
  mp3: "audio/mpeg",
  opus: "audio/opus",
  aac: "audio/aac",
  flac: "audio/flac",
  wav: "audio/wav",
  pcm: "audio/pcm",
};

/** The provider's audio content type, else the one the requested format implies (mp3 by default). */
export function audioContentType(upstream: IncomingHttpHeaders, body: Record<string, unknown>): string {
  const given = upstream["content-type"];
  if (typeof given === "string" && given.startsWith("audio/")) return given;
  const format = typeof body.response_format === "string" ? body.response_format : "mp3";
  return AUDIO_TYPES[format] ?? "application/octet-stream";
}
