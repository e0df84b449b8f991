import { randomUUID } from "node:crypto";
import { create, type MessageInitShape, toBinary } from "@bufbuild/protobuf";
import { timestampFromDate, timestampNow } from "@bufbuild/protobuf/wkt";
import { Code, ConnectError, createClient } from "@connectrpc/connect";
import { createConnectTransport } from "@connectrpc/connect-node";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LATENCY_BOUNDS_MS } from "../../control-plane/src/analytics/buckets.js";
import type { ControlPlane } from "../../control-plane/src/main.js";
import { INGEST_USAGE_WIRE } from "../../control-plane/src/services/ingest-usage.js";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type UsageEventSchema as EventSchema,
  UsageEventSchema,
  WorkerService,
} from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { startTestControlPlane, type TestControlPlane } from "../helpers/control-plane.js";

type EventInit = MessageInitShape<typeof EventSchema>;

/**
 * Each rollup table against the same aggregate computed from usage_events
 * (the definitions the rollups keep): the rows that differ, for the given
 * organizations. Counts and token sums must match exactly, float sums to 1e-6.
 */
const ROLLUP_CHECKS = {
  usage_rollup_minute: {
    key: ["org_id", "minute", "provider", "model"],
    from: `SELECT org_id, date_trunc('minute', started_at) AS minute, provider, served_model AS model, SUMS
           FROM usage_events WHERE org_id = ANY($1) GROUP BY 1, 2, 3, 4`,
  },
  usage_latency_minute: {
    key: ["org_id", "minute", "bucket"],
    from: `SELECT org_id, date_trunc('minute', started_at) AS minute,
             width_bucket(duration_ms, ARRAY[${LATENCY_BOUNDS_MS.join(",")}]::double precision[]) AS bucket,
             count(*) AS requests
           FROM usage_events WHERE org_id = ANY($1) GROUP BY 1, 2, 3`,
  },
  usage_rollup_minute_by: {
    key: ["org_id", "dimension", "minute", "value"],
    from: `SELECT org_id, dimension, date_trunc('minute', started_at) AS minute, value, SUMS FROM DIMS GROUP BY 1, 2, 3, 4`,
  },
  usage_rollup_hour_by: {
    key: ["org_id", "dimension", "hour", "value"],
    from: `SELECT org_id, dimension, date_trunc('hour', started_at) AS hour, value, SUMS FROM DIMS GROUP BY 1, 2, 3, 4`,
  },
} as const;
const SUMS = `count(*) AS requests, count(*) FILTER (WHERE status_code >= 400) AS errors,
  sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, sum(cached_tokens) AS cached_tokens,
  sum(duration_ms) AS duration_ms_sum, sum(estimated_cost_usd) AS cost_usd`;
const DIMS = `(SELECT e.*, d.dimension, d.value FROM usage_events e CROSS JOIN LATERAL (VALUES
  ('credential', coalesce(credential_id::text, '')), ('api_key', coalesce(api_key_id::text, '')), ('user', user_id)
) AS d(dimension, value) WHERE org_id = ANY($1)) AS dims`;

async function rollupMismatches(cp: ControlPlane, orgIds: string[]): Promise<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [table, check] of Object.entries(ROLLUP_CHECKS)) {
    const on = check.key.map((k) => `r.${k} = e.${k}`).join(" AND ");
    const same =
      table === "usage_latency_minute"
        ? "r.requests = e.requests"
        : `r.requests = e.requests AND r.errors = e.errors AND r.prompt_tokens = e.prompt_tokens
           AND r.completion_tokens = e.completion_tokens AND r.cached_tokens = e.cached_tokens
           AND abs(r.duration_ms_sum - e.duration_ms_sum) < 1e-6 AND abs(r.cost_usd - e.cost_usd) < 1e-6`;
    const { rows } = await cp.db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM (SELECT * FROM ${table} WHERE org_id = ANY($1)) r
       FULL JOIN (${check.from.replace("SUMS", SUMS).replace("DIMS", DIMS)}) e ON ${on}
       WHERE r.org_id IS NULL OR e.org_id IS NULL OR NOT (${same})`,
      [orgIds],
    );
    out[table] = rows[0]?.n ?? -1;
  }
  return out;
}

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

  /** An event of organization `orgId` with every rollup key varying with i. */
  const mixed = (orgId: string, i: number, base: number): EventInit => ({
    requestId: randomUUID(),
    orgId,
    apiKeyId:
      ["", "0b0f6d2e-64b4-4a51-9c69-4bd1e1a6f0a1", "7c5c7a8e-2f0e-4a0c-8d55-0a4b7b1e9c22"][i % 3] ?? "",
    userId: ["", "ana", "bo"][i % 3 === 0 ? 0 : (i >> 1) % 3] ?? "",
    provider: ["openai", "anthropic", "groq"][i % 3] ?? "",
    credentialId: ["", "e3a1c1f4-5d7b-4f00-9a3e-4a8f3b9d2c11"][i % 2] ?? "",
    requestedModel: "m",
    servedModel: ["gpt-4o-mini", "claude-haiku", "llama", "mistral-small"][i % 4] ?? "",
    requestType: "chat",
    statusCode: i % 7 === 0 ? 429 : i % 11 === 0 ? 502 : 200,
    promptTokens: BigInt(10 + i),
    completionTokens: BigInt(i % 5),
    cachedTokens: BigInt(i % 4 === 0 ? 3 : 0),
    // across minutes and an hour boundary
    startedAt: timestampFromDate(new Date(base + (i % 9) * 25_000 + (i % 1000))),
    durationMs: [0.4, 1, 3.5, 99.9, 100, 2500, 300_000, 400_000][i % 8] ?? 0,
    estimatedCostUsd: (i % 6) * 0.000_137,
  });
  const hourEdge = () => Date.UTC(2026, 10, 29, 14, 58, 0) - 86_400_000 * Math.floor(Math.random() * 100);

  it("counts a request id repeated inside one batch once", async () => {
    const orgId = randomUUID();
    const [a, b, c] = [0, 1, 2].map((i) => mixed(orgId, i, hourEdge()));
    const events = [a, b, { ...a, promptTokens: 999n }, c, b] as EventInit[];
    const res = await client().ingestUsage({ workerId: "w1", events }, auth());
    expect(res).toMatchObject({ accepted: 3, duplicates: 2 });
    const { rows } = await cp.db.query<{ n: number; tokens: number }>(
      "SELECT count(*)::int AS n, sum(prompt_tokens)::int AS tokens FROM usage_events WHERE org_id = $1",
      [orgId],
    );
    expect(rows[0]).toEqual({ n: 3, tokens: 10 + 11 + 12 }); // the first of a repeated id is kept
    expect(await rollupMismatches(cp, [orgId])).toEqual({
      usage_rollup_minute: 0,
      usage_latency_minute: 0,
      usage_rollup_minute_by: 0,
      usage_rollup_hour_by: 0,
    });
  });

  it("keeps every rollup equal to its events over batches with mixed keys, resent and partly resent", async () => {
    const orgs = [randomUUID(), randomUUID()];
    const base = hourEdge();
    const events = Array.from({ length: 900 }, (_, i) => mixed(orgs[i % 2] ?? "", i, base));
    const send = (batch: EventInit[]) => client().ingestUsage({ workerId: "w1", events: batch }, auth());
    expect(await send(events.slice(0, 400))).toMatchObject({ accepted: 400, duplicates: 0 });
    expect(await send(events.slice(0, 400))).toMatchObject({ accepted: 0, duplicates: 400 });
    // a batch whose ack was lost, sent again with new events behind it
    expect(await send(events.slice(300, 700))).toMatchObject({ accepted: 300, duplicates: 100 });
    // the same new batch from two senders at once: each event is stored and counted once
    const both = await Promise.all([send(events.slice(700)), send(events.slice(700))]);
    expect(both.reduce((n, r) => n + r.accepted, 0)).toBe(200);
    expect(both.reduce((n, r) => n + r.duplicates, 0)).toBe(200);
    const { rows } = await cp.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM usage_events WHERE org_id = ANY($1)",
      [orgs],
    );
    expect(rows[0]?.n).toBe(900);
    expect(await rollupMismatches(cp, orgs)).toEqual({
      usage_rollup_minute: 0,
      usage_latency_minute: 0,
      usage_rollup_minute_by: 0,
      usage_rollup_hour_by: 0,
    });
    const total = await cp.db.query<{ n: number }>(
      "SELECT sum(requests)::int AS n FROM usage_rollup_hour_by WHERE org_id = ANY($1) AND dimension = 'user'",
      [orgs],
    );
    expect(total.rows[0]?.n).toBe(900);
  });

  it("stores ids spelled in upper case or braces in canonical form, rolled up with the canonical spelling", async () => {
    const orgId = randomUUID();
    const at = hourEdge();
    const spelled = {
      ...mixed(`{${orgId.toUpperCase()}}`, 1, at),
      startedAt: timestampFromDate(new Date(at)),
    };
    const plain = { ...mixed(orgId, 1, at), startedAt: timestampFromDate(new Date(at)) };
    expect(await client().ingestUsage({ workerId: "w1", events: [spelled, plain] }, auth())).toMatchObject({
      accepted: 2,
    });
    const { rows } = await cp.db.query<{ requests: number }>(
      "SELECT requests::int FROM usage_rollup_minute WHERE org_id = $1",
      [orgId],
    );
    expect(rows).toEqual([{ requests: 2 }]);
  });

  it("reads JSON requests with the generated schema, binary ones by hand, to the same rows", async () => {
    const json = createClient(
      WorkerService,
      createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1", useBinaryFormat: false }),
    );
    const orgId = randomUUID();
    const at = hourEdge();
    const one = { ...mixed(orgId, 5, at), errorClass: ErrorClass.RATE_LIMITED, userId: "Zoë 😀" };
    const two = { ...one, requestId: randomUUID() };
    expect(await json.ingestUsage({ workerId: "w1", events: [one] }, auth())).toMatchObject({ accepted: 1 });
    expect(await client().ingestUsage({ workerId: "w1", events: [two] }, auth())).toMatchObject({
      accepted: 1,
    });
    const { rows } = await cp.db.query(
      `SELECT user_id, error_class, provider, served_model, prompt_tokens, started_at, duration_ms, estimated_cost_usd
       FROM usage_events WHERE org_id = $1`,
      [orgId],
    );
    expect(rows).toHaveLength(2);
    expect(rows[0]).toEqual(rows[1]);
    expect(rows[0]).toMatchObject({ user_id: "Zoë 😀", error_class: "rate_limited" });
  });

  it("refuses a batch with a malformed or impossible event and stores none of it", async () => {
    const transport = createConnectTransport({ baseUrl: cp.url, httpVersion: "1.1" });
    const wire = (events: Uint8Array[]) =>
      transport.unary(INGEST_USAGE_WIRE, undefined, undefined, auth().headers, { workerId: "w1", events });
    const orgId = randomUUID();
    const good = toBinary(UsageEventSchema, create(UsageEventSchema, mixed(orgId, 1, hourEdge())));
    const invalid = (err: unknown) => err instanceof ConnectError && err.code === Code.InvalidArgument;
    await expect(wire([good, good.subarray(0, good.length - 30)])).rejects.toSatisfy(invalid);
    for (const bad of [
      { durationMs: Number.NaN },
      { estimatedCostUsd: Number.POSITIVE_INFINITY },
      { orgId: "x" },
    ]) {
      const events = [mixed(orgId, 1, hourEdge()), { ...mixed(orgId, 2, hourEdge()), ...bad }];
      await expect(client().ingestUsage({ workerId: "w1", events }, auth())).rejects.toSatisfy(invalid);
    }
    const { rows } = await cp.db.query<{ n: number }>(
      "SELECT count(*)::int AS n FROM usage_events WHERE org_id = $1",
      [orgId],
    );
    expect(rows[0]?.n).toBe(0);
  });

  it("refuses callers without the worker token", async () => {
    await expect(client().ingestUsage({ workerId: "w1", events: [event(randomUUID())] })).rejects.toSatisfy(
      (err) => err instanceof ConnectError && err.code === Code.Unauthenticated,
    );
  });
});
