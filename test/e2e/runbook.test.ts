import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { PolicyService } from "../../proto/gen/llmgateway/v1/policy_service_pb.js";
import { PricingService } from "../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { BudgetAction } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import {
  assignedVariables,
  type BlockResult,
  createRunbookShell,
  parseRunbook,
  type RunbookWorld,
  SECRETS,
  startRunbookWorld,
} from "../helpers/runbook.js";

/**
 * docs/runbook.md as written: every ```sh block runs, in document order, with
 * `bash -euo pipefail` against an in-process control plane, worker and mock
 * provider, sharing variables and functions from block to block like one
 * shell. Around each block the plan below sets the world up (a provider
 * outage, slow responses, spend) and checks the block's effect.
 */
const ROOT = join(import.meta.dirname, "../..");
const DOC = readFileSync(join(ROOT, "docs/runbook.md"), "utf8");
const BLOCKS = parseRunbook(DOC);
const SECTIONS = [...new Set(BLOCKS.map((b) => b.section))];
const MODEL = "chat";
const TICKET = "INC-4711";
const BACKUP_NAME = "openai-compatible-prod-chat-fallback";
const fingerprint = (s: string) => createHash("sha256").update(s).digest("hex").slice(0, 16);

/** What the test does around one block: set the world up before it, check its effect after. */
interface Step {
  before?: () => Promise<void>;
  check: (out: string) => unknown;
}

let w: RunbookWorld;
let run: (code: string) => Promise<BlockResult>;
const executed: string[] = [];

const g = () => w.g;
const admin = () => w.g.cp.as(w.g.cp.adminKey);
const route = async (model = MODEL) =>
  (await g().cp.client(RouteService).listRoutes({ orgId: g().orgId }, admin())).routes.find(
    (r) => r.model === model,
  );
const weights = async () => (await route())?.targets.map((t) => [t.credentialId, t.weight]);
const credential = async (id: string) =>
  (await g().cp.client(CredentialService).getCredential({ orgId: g().orgId, id }, admin())).credential;
const backup = async () =>
  (await g().cp.client(CredentialService).listCredentials({ orgId: g().orgId }, admin())).credentials.find(
    (c) => c.name === BACKUP_NAME,
  );
/** A check that the output contains every string and matches every pattern. */
const has =
  (...wanted: Array<string | RegExp>) =>
  (out: string): true => {
    for (const x of wanted) typeof x === "string" ? expect(out).toContain(x) : expect(out).toMatch(x);
    return true;
  };
/** The `served_by` of every `smoke` line in a block's output. */
const servedBy = (out: string) =>
  out.split("\n").flatMap((l) => (l.startsWith('{"served_by"') ? [JSON.parse(l).served_by] : []));

const PLAN: Record<string, Step[]> = {
  "Before you start": [{ check: (out) => has(w.g.orgId)(out) }],
  "Change management": [
    {
      check: (out) =>
        has(w.primary)(out) && expect(existsSync(join(w.dir, "route-before-change.json"))).toBe(true),
    },
    {
      check: async (out) => {
        has("fingerprint matches the secret you hold")(out);
        expect((await backup())?.secretFingerprint).toBe(fingerprint(SECRETS.backup));
      },
    },
    { check: (out) => has(`"model":"${MODEL}-canary"`)(out) },
    {
      check: (out) => {
        expect(servedBy(out)).toEqual(["mock-large"]);
        expect(w.g.mock.stats().byKey[SECRETS.backup]).toBe(1);
      },
    },
    {
      check: async () =>
        expect(await weights()).toEqual([
          [w.primary, 95],
          [(await backup())?.id, 5],
        ]),
    },
    { before: () => w.traffic(10).then(() => w.settle()), check: has("credential.create", "route.update") },
    {
      check: async () => {
        expect(await weights()).toEqual([[w.primary, 100]]);
        expect((await route())?.fallbacks[0]?.targets[0]?.credentialId).toBe((await backup())?.id);
        has("ERROR_CLASS_DISABLED")(readFileSync(join(w.dir, "route-after-change.json"), "utf8"));
      },
    },
  ],
  "Incident: provider outage": [
    {
      before: async () => {
        w.g.mock.setFaults([{ match: { apiKey: SECRETS.primary }, status: 500 }]);
        expect(await w.traffic(8)).toEqual(Array(8).fill("mock-large"));
        await w.settle();
      },
      check: (out) => has(`failing credential: openai-prod-chat (openai-compatible) ${w.primary}`)(out),
    },
    { check: has(new RegExp(`^${BACKUP_NAME}\\s+\\d+\\s+[\\d.]+\\s+[\\d.]+$`, "m")) },
    {
      check: has(
        /^llm_gateway_attempt_failures_total\{.*credential="openai-prod-chat".*error_class="unavailable"\} \d+/m,
        /^llm_gateway_fallbacks_total\{.*model="chat".*error_class="unavailable"\} 8$/m,
        /^llm_gateway_circuit_state\{.*credential="openai-prod-chat"\} 2$/m,
      ),
    },
    { check: (out) => has(new RegExp(`\tapi_key:${w.opsKeyId}\troute\\.update\t`))(out) },
  ],
  "Disable a credential": [
    { check: async () => expect((await credential(w.primary))?.enabled).toBe(false) },
    { before: () => w.reported(), check: has(/\tcurrent\tlive$/m) },
  ],
  "Confirm fallback": [
    {
      check: (out) =>
        has("llm_gateway_fallbacks_total")(out) && expect(servedBy(out)).toEqual(["mock-large"]),
    },
    { before: () => w.settle(), check: has(new RegExp(`^${BACKUP_NAME}\\t\\d+`, "m")) },
  ],
  "Restore normal routing": [
    {
      check: async () => {
        expect(await weights()).toEqual([[(await backup())?.id, 1]]);
        expect((await route(`${MODEL}-canary`))?.targets.map((t) => t.credentialId)).toEqual([w.primary]);
      },
    },
    {
      before: async () => w.g.mock.clearFaults(), // the provider recovered
      check: async () => expect((await credential(w.primary))?.enabled).toBe(true),
    },
    { check: (out) => expect(servedBy(out)).toEqual(Array(3).fill("mock-small")) },
    {
      check: async (out) => {
        has("canary route deleted")(out);
        expect(await weights()).toEqual([[w.primary, 100]]);
        expect((await route())?.fallbacks).toHaveLength(1);
        expect(await route(`${MODEL}-canary`)).toBeUndefined();
      },
    },
    {
      check: (out) =>
        has("credential.disable", "credential.enable", "route.delete")(out) &&
        expect(servedBy(out)).toEqual(["mock-small"]),
    },
  ],
  "Performance degradation": [
    {
      before: async () => {
        w.g.mock.setFaults([{ match: { apiKey: SECRETS.primary }, latencyMs: 300 }]);
        await w.traffic(3);
        await w.settle();
      },
      check: (out) => has('"window":"last 15 min"', new RegExp(`^${w.primary}\t`, "m"))(out),
    },
    { check: has(/^openai-prod-chat\s+\d+\s+[\d.]+\s+[\d.]+$/m) },
    { check: has('{"status":"SERVING"}') },
    { check: async () => expect((await weights())?.map((t) => t[1])).toEqual([50, 50]) },
    {
      before: async () => w.g.mock.clearFaults(),
      check: async () => expect(await weights()).toEqual([[w.primary, 100]]),
    },
  ],
  "Budget exceeded": [
    {
      before: async () => {
        for (const model of ["mock-small", "mock-large"]) {
          const price = {
            provider: "openai-compatible",
            model,
            inputPerMillion: 1000,
            outputPerMillion: 1000,
          };
          await w.g.cp
            .client(PricingService)
            .putPriceOverride({ orgId: w.g.orgId, price, reason: "t" }, admin());
        }
        const policy = { monthlyBudgetUsd: 0.01, budgetAction: BudgetAction.ALERT };
        await w.g.cp.client(PolicyService).putPolicy({ orgId: w.g.orgId, policy, reason: "t" }, admin());
        await w.g.synced();
        await w.traffic(3);
        await w.settle();
      },
      check: has(/^organization\t0\.01\t[\d.]+\t\d+\tBUDGET_ACTION_ALERT\ttrue$/m),
    },
    { check: has(/^DIMENSION_MODEL\tmock-small\t/m, /^DIMENSION_API_KEY\t\S+\tapp\t/m) },
    {
      check: async () => {
        const got = await w.g.cp.client(PolicyService).getPolicy({ orgId: w.g.orgId }, admin());
        expect(got.record?.policy?.monthlyBudgetUsd).toBe(500);
      },
    },
    { check: has(/^organization\t500\t[\d.]+\tfalse$/m) },
  ],
  "Key compromise and rotation": [
    {
      check: async (out) => {
        has("fingerprint matches the new secret")(out);
        expect((await credential(w.primary))?.secretFingerprint).toBe(fingerprint(SECRETS.rotated));
      },
    },
    {
      before: async () => {
        w.g.mock.setFaults([{ match: { apiKey: SECRETS.primary }, status: 401 }]); // old key revoked at the provider
        w.g.mock.resetStats();
      },
      check: (out) => {
        expect(servedBy(out)).toEqual(["mock-small"]);
        expect(w.g.mock.stats().byKey[SECRETS.rotated]).toBe(1);
      },
    },
    { check: has('"name":"app","role":"ROLE_MEMBER"') },
    { check: has(/^new key lgw_\S{6}\.\.\./m) },
    { check: (out) => expect(out).toBe("LEAKED_KEY: HTTP 401\nNEW_APP_KEY: HTTP 200\n") },
    { check: (out) => expect(JSON.parse(out)).toMatchObject({ name: "app", revokedAt: expect.any(String) }) },
  ],
  "Metrics-token rotation": [
    { check: (out) => has(w.metricsTokenId)(out) },
    {
      check: () => {
        const file = join(w.dir, "metrics-token");
        expect(readFileSync(file, "utf8")).toMatch(/^lgm_[\w-]{43}$/);
        expect(readFileSync(file, "utf8")).not.toBe(w.metricsToken);
        expect(statSync(file).mode & 0o777).toBe(0o600);
      },
    },
    { check: (out) => expect(out).toBe("old token: HTTP 200\nnew token: HTTP 200\n") },
    { check: (out) => expect(JSON.parse(out).revokedAt).toEqual(expect.any(String)) },
    { check: (out) => expect(out).toBe("old token: HTTP 401\nnew token: HTTP 200\n") },
  ],
  "Security checklist": [
    { check: has(/^lgw_\S{6}\tops\tROLE_ADMIN\t-\t/m) },
    { check: has(new RegExp(`^${BACKUP_NAME}\\topenai-compatible\\tenabled\\t\\S+\\tok$`, "m")) },
    { check: has(/^600 \S+ \S+metrics-token\n/, /\tok$/m) },
    { check: has(`no real-looking keys in ${join(ROOT, "docs")}`) },
    { check: (out) => has(`${MODEL}\tfallback\topenai-compatible\t${BACKUP_NAME}\t${w.g.mock.url}`)(out) },
    {
      check: has(
        /^\{"intact":true,"rowsChecked":"\d+"\}$/m,
        '{"action":"credential.rotate_secret","count":1}',
      ),
    },
    { check: (out) => expect(out.trim().split("\n")).toHaveLength(5) },
  ],
};

beforeAll(async () => {
  w = await startRunbookWorld({ root: ROOT, model: MODEL, ticket: TICKET });
  run = createRunbookShell({ cwd: w.dir, env: w.env, carry: assignedVariables(BLOCKS) });
}, 120_000);

afterAll(async () => {
  await w?.close();
});

describe("docs/runbook.md, every sh block against a running gateway", () => {
  for (const section of SECTIONS) {
    it(section, async () => {
      const blocks = BLOCKS.filter((b) => b.section === section);
      const steps = PLAN[section] ?? [];
      expect(steps.length, `steps for "${section}" (one per sh block)`).toBe(blocks.length);
      for (const [i, block] of blocks.entries()) {
        const step = steps[i] as Step;
        await w.g.synced(); // changes of the block before have reached the worker
        await step.before?.();
        const result = await run(block.code);
        const where = `docs/runbook.md:${block.line} (${section} #${i + 1})\n${result.stdout}\n${result.stderr}`;
        expect(result.status, where).toBe(0);
        executed.push(`${section}#${i}`);
        try {
          await step.check(result.stdout);
        } catch (err) {
          throw new Error(`${where}\n${(err as Error).message}`);
        }
      }
    }, 60_000);
  }

  it("ran every sh block of the runbook, each with a check", () => {
    expect(BLOCKS.length).toBeGreaterThanOrEqual(40);
    expect(executed).toHaveLength(BLOCKS.length);
    expect(Object.keys(PLAN).sort()).toEqual([...SECTIONS].sort());
  });

  it("names only RPCs that exist, in runnable blocks and prose alike", () => {
    const rpcs = new Set<string>();
    const protoDir = join(ROOT, "proto/llmgateway/v1");
    for (const file of readdirSync(protoDir).filter((f) => f.endsWith(".proto"))) {
      const text = readFileSync(join(protoDir, file), "utf8");
      for (const [, service, body] of text.matchAll(/^service (\w+) \{([\s\S]*?)^\}/gm)) {
        for (const [, method] of (body ?? "").matchAll(/^\s*rpc (\w+)\(/gm)) rpcs.add(`${service}/${method}`);
      }
    }
    const named = [...DOC.matchAll(/\b(\w+Service)\/(\w+)/g)].map((m) => `${m[1]}/${m[2]}`);
    expect(named.length).toBeGreaterThan(40);
    expect(named.filter((n) => !rpcs.has(n) && !n.startsWith("grpc."))).toEqual([]);
  });
});
