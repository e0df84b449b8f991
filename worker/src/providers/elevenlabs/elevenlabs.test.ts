import { describe, expect, it } from "vitest";
import { contextOf } from "../../../../test/helpers/provider-fixtures.js";
import { GatewayError } from "../../http/errors.js";
import { elevenlabsAdapter } from "./index.js";

/** Refusals (the golden fixture harness has no speech refusal case yet). */
const ctx = contextOf({
  provider: "elevenlabs",
  endpoint: "speech",
  upstreamModel: "eleven_multilingual_v2",
});
const speech = elevenlabsAdapter.speech as NonNullable<typeof elevenlabsAdapter.speech>;
const build = (body: Record<string, unknown>) => () =>
  speech.request({ model: "m", input: "Hi", ...body }, ctx);

describe("elevenlabs speech requests it refuses", () => {
  it.each([
    ["aac", { voice: "v", response_format: "aac" }, "response_format"],
    ["flac", { voice: "v", response_format: "flac" }, "response_format"],
    ["an unknown format", { voice: "v", response_format: "ogg" }, "response_format"],
    ["no voice", {}, "voice"],
  ])("refuses %s with a 400 naming the field", (_name, body, param) => {
    expect(build(body)).toThrow(GatewayError);
    try {
      build(body)();
    } catch (err) {
      expect((err as GatewayError).status).toBe(400);
      expect((err as GatewayError).param).toBe(param);
    }
  });

  it("takes the content type from the upstream when it is audio, else from the format", () => {
    expect(speech.contentType({ "content-type": "audio/ogg" }, { response_format: "opus" })).toBe(
      "audio/ogg",
    );
    expect(speech.contentType({ "content-type": "text/plain" }, { response_format: "opus" })).toBe(
      "audio/opus",
    );
    expect(speech.contentType({}, {})).toBe("audio/mpeg");
  });
});
