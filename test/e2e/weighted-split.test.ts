import { Pool } from "undici";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/** Acceptance 1 of the routing engine: weights 70/20/10 across two providers hold within ±3 points. */
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ secrets: 3 });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

describe("weighted load balancing", () => {
  it("splits 10,000 requests 70/20/10 across three targets of two providers within ±3 points", async () => {
    const a = await gw.credential({ provider: "groq" });
    const b = await gw.credential({ provider: "mistral" });
    const c = await gw.credential({ provider: "groq" });
    await gw.route("balanced", [
      { credentialId: a.id, weight: 70 },
      { credentialId: b.id, weight: 20 },
      { credentialId: c.id, weight: 10 },
    ]);
    gw.mock.resetStats();

    const total = 10_000;
    const concurrency = 32;
    const pool = new Pool(gw.worker.url, { connections: concurrency });
    const body = JSON.stringify({ model: "balanced", messages: [{ role: "user", content: "hi" }] });
    const headers = { authorization: `Bearer ${gw.apiKey}`, "content-type": "application/json" };
    let sent = 0;
    let ok = 0;
    const loop = async () => {
      while (sent < total) {
        sent++;
        const res = await pool.request({ method: "POST", path: "/v1/chat/completions", headers, body });
        await res.body.arrayBuffer();
        if (res.statusCode === 200) ok++;
      }
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: concurrency }, loop));
    const seconds = (performance.now() - t0) / 1000;
    await pool.close();

    const byKey = gw.mock.stats().byKey;
    const share = (secret: string) => (byKey[secret] ?? 0) / total;
    const observed = [share(a.secret), share(b.secret), share(c.secret)];
    console.log(
      `10,000 requests in ${seconds.toFixed(1)} s: observed split ${observed.map((s) => (s * 100).toFixed(2)).join(" / ")} %`,
    );
    expect(ok).toBe(total);
    expect(observed.reduce((x, y) => x + y, 0)).toBeCloseTo(1, 10);
    expect(Math.abs((observed[0] ?? 0) - 0.7)).toBeLessThanOrEqual(0.03);
    expect(Math.abs((observed[1] ?? 0) - 0.2)).toBeLessThanOrEqual(0.03);
    expect(Math.abs((observed[2] ?? 0) - 0.1)).toBeLessThanOrEqual(0.03);
  }, 120_000);
});
