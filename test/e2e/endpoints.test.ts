import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/** The OpenAI-compatible endpoints besides chat: models, embeddings and speech validation, unsupported routes. */
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ secrets: 3 });
  const mock = await gw.credential();
  const anthropic = await gw.credential({
    provider: "anthropic",
    baseUrl: `${new URL(gw.mock.url).origin}/anthropic/v1`,
  });
  await gw.route("alpha", [{ credentialId: mock.id }]);
  await gw.route("beta", [{ credentialId: mock.id }]);
  await gw.route("claude-only", [{ credentialId: anthropic.id, upstreamModel: "claude-sonnet-4-5" }]);
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe("/v1/models", () => {
  it("lists the organization's routable models, and only those", async () => {
    const page = await gw.openai.models.list();
    const ids = page.data.map((m) => m.id).sort();
    expect(ids).toEqual(["alpha", "beta", "claude-only"]);
    expect(page.data[0]).toMatchObject({ object: "model" });
    const one = await gw.openai.models.retrieve("beta");
    expect(one.id).toBe("beta");
    await expect(gw.openai.models.retrieve("nope")).rejects.toBeInstanceOf(OpenAI.NotFoundError);
  });

  it("needs a key", async () => {
    const res = await fetch(`${gw.worker.url}/v1/models`);
    expect(res.status).toBe(401);
    expect((await fetch(`${gw.worker.url}/v1/models`, { method: "POST" })).status).toBe(405);
  });
});

describe("validation", () => {
  it.each([
    [{ model: "alpha" }, "input"],
    [{ model: "alpha", input: [] }, "input"],
    [{ model: "alpha", input: [1, "x"] }, "input"],
    [{ input: "x" }, "model"],
  ])("refuses a bad embeddings request (%#)", async (body, param) => {
    await expect(gw.openai.embeddings.create(body as never)).rejects.toMatchObject({ status: 400, param });
  });

  it.each([
    [{ model: "alpha", voice: "v" }, "input"],
    [{ model: "alpha", input: "hi", voice: 3 }, "voice"],
  ])("refuses a bad speech request (%#)", async (body, param) => {
    const res = await fetch(`${gw.worker.url}/v1/audio/speech`, {
      method: "POST",
      headers: { authorization: `Bearer ${gw.apiKey}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    expect(res.status).toBe(400);
    expect(((await res.json()) as { error: { param: string } }).error.param).toBe(param);
  });

  it("answers unsupported_endpoint for embeddings routed to a chat-only provider", async () => {
    await expect(gw.openai.embeddings.create({ model: "claude-only", input: "x" })).rejects.toMatchObject({
      status: 400,
      code: "unsupported_endpoint",
    });
  });
});
