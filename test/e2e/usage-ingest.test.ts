import { randomUUID } from "node:crypto";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ControlPlane } from "../../control-plane/src/main.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

describe("IngestUsage", () => {
  let t: TestControlPlane;
  let cp: ControlPlane;
  let workerToken = "";

  beforeAll(async () => {
    t = await startTestControlPlane();
    cp = t.cp;
    workerToken = t.workerToken;
  }, 60_000);

  afterAll(async () => {
    await t?.close();
  });

  const client = () =>
    createClient(WorkerService, createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" }));
  const auth = () => ({ headers: { authorization: `Bearer ${workerToken}` } });
  const event = (requestId: string) => ({
    requestId,
    orgId: cp.bootstrapOrgId,
    provider: "openai",
    requestedModel: "demo-model",
    servedModel: "mock-small",
    requestType: "chat",
    statusCode: 200,
    promptTokens: 12n,
    completionTokens: 8n,
    startedAt: timestampNow(),
    durationMs: 3.5,
  });

  it("stores a batch once, however often it is sent", async () => {
    const ids = Array.from({ length: 50 }, () => randomUUID());
    const first = await client().ingestUsage({ workerId: "w1", events: ids.map(event) }, auth());
    expect(first).toMatchObject({ accepted: 50, duplicates: 0 });
    const again = await client().ingestUsage({ workerId: "w1", events: ids.map(event) }, auth());
    expect(again).toMatchObject({ accepted: 0, duplicates: 50 });
    const { rows } = await cp.db.query<{ n: number; tokens: number }>(
      "SELECT count(*)::int AS n, sum(prompt_tokens + completion_tokens)::int AS tokens FROM usage_events WHERE request_id = ANY($1)",
      [ids],
    );
    expect(rows[0]).toEqual({ n: 50, tokens: 50 * 20 });
  });

  it("advances the key's last use from ingested usage", async () => {
    const keyId = (
      await cp.db.query<{ id: string }>("SELECT id FROM api_keys WHERE org_id = $1 LIMIT 1", [
        cp.bootstrapOrgId,
      ])
    ).rows[0]?.id;
    const when = new Date(Date.now() - 5000);
    await client().ingestUsage(
      {
        workerId: "w1",
        events: [{ ...event(randomUUID()), apiKeyId: keyId ?? "", startedAt: timestampFromDate(when) }],
      },
      auth(),
    );
    const { rows } = await cp.db.query<{ last_used_at: Date }>(
      "SELECT last_used_at FROM api_keys WHERE id = $1",
      [keyId],
    );
    expect(rows[0]?.last_used_at.getTime()).toBeGreaterThanOrEqual(when.getTime() - 1);
  });

  it("prices events at ingest: the organization's override, else the catalog, else nothing", async () => {
    const priced = (provider: string, servedModel: string) => ({
      ...event(randomUUID()),
      provider,
      servedModel,
      promptTokens: 1_000_000n,
      completionTokens: 100_000n,
    });
    const events = [
      priced("openai", "gpt-4o-mini"),
      priced("groq", "llama-3.1-8b-instant"),
      priced("openai", "unknown-model"),
    ];
    await cp.db.query(
      `INSERT INTO price_overrides (org_id, provider, model, input_per_million, output_per_million, cached_input_per_million, effective_from)
       VALUES ($1, 'groq', 'llama-3.1-8b-instant', 1, 2, 1, '2026-01-01')`,
      [cp.bootstrapOrgId],
    );
    await client().ingestUsage({ workerId: "w1", events }, auth());
    const { rows } = await cp.db.query<{ request_id: string; estimated_cost_usd: number }>(
      "SELECT request_id, estimated_cost_usd FROM usage_events WHERE request_id = ANY($1)",
      [events.map((e) => e.requestId)],
    );
    const cost = new Map(rows.map((r) => [r.request_id, r.estimated_cost_usd]));
    expect(cost.get(events[0]?.requestId ?? "")).toBeCloseTo(0.15 + 0.1 * 0.6, 9); // catalog
    expect(cost.get(events[1]?.requestId ?? "")).toBeCloseTo(1 + 0.1 * 2, 9); // override
    expect(cost.get(events[2]?.requestId ?? "")).toBe(0); // unknown model: not guessed
  });

  it("refuses callers without the worker token", async () => {
    await expect(client().ingestUsage({ workerId: "w1", events: [event(randomUUID())] })).rejects.toSatisfy(
      (err) => err instanceof ConnectError && err.code === Code.Unauthenticated,
    );
  });
});
