import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AuditService } from "../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { ErrorClass } from "../../proto/gen/llmgateway/v1/common_pb.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { startTestGateway, type TestGateway } from "../helpers/gateway.js";

/**
 * What operators see of the routing engine: operational events in the
 * audit log (aggregated, so an outage does not flood it) and the circuit,
 * fallback and usage-buffer metrics on /metrics/ai-gateway.
 */
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({
    secrets: 6,
    workerEnv: {
      LLM_GATEWAY_OPERATIONAL_EVENT_WINDOW_MS: "300",
      LLM_GATEWAY_CIRCUIT_CONSECUTIVE_FAILURES: "3",
    },
  });
}, 60_000);

afterAll(async () => {
  await gw?.close();
});

const chat = (model: string) =>
  gw.openai.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] });

async function auditEvents(resourceId: string) {
  const audit = gw.cp.client(AuditService);
  await new Promise((r) => setTimeout(r, 400)); // the aggregation window closes
  await gw.worker.usage.flush();
  const res = await audit.listAuditEvents(
    { orgId: gw.orgId, filter: { resourceId }, pageSize: 1000 },
    gw.cp.as(gw.cp.adminKey),
  );
  return res.events.filter((e) => e.action.startsWith("gateway."));
}

describe("routing engine observability", () => {
  let failing: { id: string; secret: string };
  let healthy: { id: string; secret: string };

  it("writes aggregated operational events to the audit log: provider errors, circuit opened, fallbacks", async () => {
    failing = await gw.credential();
    healthy = await gw.credential();
    gw.mock.setFaults([{ match: { apiKey: failing.secret }, status: 500 }]);
    await gw.route(
      "obs",
      [{ credentialId: failing.id }],
      [{ targets: [{ credentialId: healthy.id }], triggers: [ErrorClass.UNAVAILABLE] }],
    );
    for (let i = 0; i < 40; i++) expect((await chat("obs")).choices[0]?.message.content).toContain("tok0");

    const events = await auditEvents(failing.id);
    const byAction = new Map<string, number>();
    for (const e of events) {
      expect(e.actor).toMatch(/^worker:/);
      const count = Number(e.after?.count ?? 0);
      byAction.set(e.action, (byAction.get(e.action) ?? 0) + count);
    }
    // 3 failures opened the circuit; after that the primary was skipped, not called.
    expect(byAction.get("gateway.provider_error")).toBe(3);
    expect(byAction.get("gateway.circuit_opened")).toBe(1);
    expect(byAction.get("gateway.fallback_activated")).toBe(40);
    // 40 requests and 3 failures became a handful of rows, not one per request.
    expect(events.length).toBeLessThanOrEqual(6);
    const opened = events.find((e) => e.action === "gateway.circuit_opened");
    expect(opened?.after?.errorClass).toBe("unavailable");
    expect(opened?.reason).toMatch(/^automatic: /);
  });

  it("serves the circuit state, fallbacks and usage buffer on /metrics/ai-gateway to metrics tokens only", async () => {
    const url = `${gw.worker.url}/metrics/ai-gateway`;
    expect((await fetch(url)).status).toBe(401);
    expect((await fetch(url, { headers: { authorization: "Bearer lgm_wrong" } })).status).toBe(401);

    const created = await gw.cp
      .client(MetricsTokenService)
      .createMetricsToken({ name: "prometheus", reason: "test" }, gw.cp.as(gw.cp.adminKey));
    await gw.synced();
    const res = await fetch(url, { headers: { authorization: `Bearer ${created.token}` } });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/plain");
    const text = await res.text();
    const credentialName = gw.worker.table.findCredential(failing.id)?.entry.name ?? "?";
    expect(text).toMatch(
      new RegExp(`llm_gateway_circuit_state\\{[^}]*credential="${credentialName}"[^}]*\\} 2`),
    );
    expect(text).toMatch(
      /llm_gateway_fallbacks_total\{[^}]*model="obs"[^}]*error_class="unavailable"[^}]*\} 40/,
    );
    expect(text).toMatch(/llm_gateway_attempt_failures_total\{[^}]*error_class="unavailable"[^}]*\} 3/);
    expect(text).toMatch(new RegExp(`llm_gateway_routing_table_version ${gw.worker.table.version}`));
    expect(text).toContain("llm_gateway_usage_buffer_events");
    expect(text).toContain("llm_gateway_usage_events_dropped_total 0");
    expect(text).not.toContain(created.token);
  });
});
