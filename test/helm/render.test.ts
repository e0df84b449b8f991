import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { projectRoot } from "../../lib/src/paths.js";
import { coalesce, type K8sObject } from "./lib/chart.js";
import { monitoringErrors, nameOf, schemaErrors, unknownFieldErrors } from "./lib/k8s.js";
import { MINIMAL, podLabels, podSpec, render, SCENARIOS, type Selector, selects } from "./lib/scenarios.js";

/**
 * The chart rendered with the test renderer (test/helm/lib: Helm's semantics
 * for the subset of Go templates the chart uses, an error for anything else)
 * and checked as Kubernetes would see it. `helm template` itself is not run
 * here (no helm binary): scripts/helm-check.sh does that where helm exists.
 */
const rendered = SCENARIOS.map((s) => ({ ...s, out: render(s) }));
const objectsOf = (name: string) => rendered.find((r) => r.name === name)?.out.objects ?? [];

describe.each(rendered)("chart rendered with $name", ({ out }) => {
  const objects = out.objects;

  it("validates against the Kubernetes API schemas (kubernetes-models) and the monitoring CRD subsets", () => {
    expect(schemaErrors(objects)).toEqual([]);
    expect(monitoringErrors(objects)).toEqual([]);
  });

  it("has unique, DNS-label names of at most 63 characters", () => {
    const names = objects.map(nameOf);
    expect(new Set(names).size).toBe(names.length);
    for (const o of objects) expect(o.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });

  it("selects, with every selector, the pods of exactly one workload", () => {
    const pods = podLabels(objects);
    const selectors: Array<[string, Selector]> = [];
    for (const o of objects) {
      const spec = o.spec as Record<string, unknown> | undefined;
      if (o.kind === "Service")
        selectors.push([nameOf(o), { matchLabels: spec?.selector as Record<string, string> }]);
      if (["Deployment", "PodDisruptionBudget", "PodMonitor"].includes(o.kind)) {
        selectors.push([nameOf(o), spec?.selector as Selector]);
      }
      if (o.kind === "NetworkPolicy") selectors.push([nameOf(o), spec?.podSelector as Selector]);
    }
    for (const [who, selector] of selectors) {
      const owners = pods.filter((p) => selects(selector, p.labels)).map((p) => p.owner);
      expect({ who, owners: owners.length }).toEqual({ who, owners: 1 });
    }
  });

  it("runs every container as non-root, read-only, without privileges or capabilities, with resources", () => {
    for (const o of objects.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
      const pod = podSpec(o);
      expect(pod.securityContext?.runAsNonRoot, nameOf(o)).toBe(true);
      expect(pod.securityContext?.seccompProfile?.type, nameOf(o)).toBe("RuntimeDefault");
      expect(pod.automountServiceAccountToken, nameOf(o)).toBe(false);
      for (const c of pod.containers) {
        expect(c.securityContext, `${nameOf(o)} ${c.name}`).toMatchObject({
          allowPrivilegeEscalation: false,
          readOnlyRootFilesystem: true,
          privileged: false,
          capabilities: { drop: ["ALL"] },
        });
        expect(c.resources?.requests?.cpu, c.name).toBeDefined();
        expect(c.resources?.requests?.memory, c.name).toBeDefined();
        expect(c.resources?.limits?.memory, c.name).toBeDefined();
      }
    }
  });

  it("has probes on every long-running container", () => {
    for (const o of objects.filter((x) => x.kind === "Deployment")) {
      for (const c of podSpec(o).containers) {
        expect(c.readinessProbe, nameOf(o)).toBeDefined();
        expect(c.livenessProbe, nameOf(o)).toBeDefined();
      }
    }
  });

  it("reads every secret from a Secret, never from a literal", () => {
    for (const o of objects.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
      for (const c of podSpec(o).containers) {
        for (const e of c.env ?? []) {
          if (/MASTER_KEY|WORKER_TOKEN|ADMIN_KEY|DATABASE_URL|REDIS_URL/.test(e.name)) {
            expect(e.valueFrom?.secretKeyRef?.name, `${nameOf(o)} ${e.name}`).toBeTruthy();
          }
        }
      }
    }
  });

  it("sets only environment variables docs/configuration.md documents", () => {
    const doc = readFileSync(join(projectRoot(), "docs", "configuration.md"), "utf8");
    const documented = new Set([...doc.matchAll(/^\| `([A-Z_]+)`/gm)].map((m) => m[1]));
    for (const o of objects.filter((x) => x.kind === "Deployment" || x.kind === "Job")) {
      for (const c of podSpec(o).containers.filter((x) => x.name !== "envoy")) {
        for (const e of c.env ?? []) expect(documented.has(e.name), `${e.name} (${nameOf(o)})`).toBe(true);
      }
    }
  });

  it("renders NOTES.txt", () => {
    expect(out.notes).toContain("llm-gateway 0.1.0 is installed");
  });
});

it.each(SCENARIOS)("renders $name under missingkey=error too (helm lint --strict)", (scenario) => {
  const strict = render({ values: scenario.values, options: { ...scenario.options, strict: true } });
  expect(strict.objects).toEqual(rendered.find((r) => r.name === scenario.name)?.out.objects);
});

it("no rendered object has a field the Kubernetes API does not know (TypeScript excess-property check)", () => {
  const all: K8sObject[] = rendered.flatMap((r) => r.out.objects);
  expect(unknownFieldErrors(all)).toEqual([]);
  // The check itself: a misspelt probe is named.
  const worker = structuredClone(objectsOf("minimal").find((o) => o.kind === "Deployment") as K8sObject);
  const c = podSpec(worker).containers[0] as unknown as Record<string, unknown>;
  c.readinesProbe = c.readinessProbe;
  expect(unknownFieldErrors([worker]).join()).toMatch(/readinesProbe/);
}, 60_000);

describe("the chart refuses incomplete values with a message naming the value", () => {
  it.each([
    ["no Secret", { secrets: { existingSecret: "" } }, /secrets\.databaseUrl: set secrets\.existingSecret/],
    ["Envoy without a certificate", { envoy: { tlsSecretName: "" } }, /envoy\.tlsSecretName/],
    [
      "worker TLS without a Secret",
      { envoy: { enabled: false }, worker: { tls: { enabled: true } } },
      /worker\.tls\.secretName/,
    ],
    ["worker TLS with Envoy", { worker: { tls: { enabled: true, secretName: "x" } } }, /exclude each other/],
    [
      "a development Secret without a master key",
      {
        secrets: {
          existingSecret: "",
          development: { create: true, workerToken: "t", databaseUrl: "postgres://x" },
        },
      },
      /secrets\.development\.masterKey/,
    ],
    [
      "autoscaling bounds upside down",
      { worker: { autoscaling: { minReplicas: 9, maxReplicas: 3 } } },
      /minReplicas/,
    ],
  ])("%s", (_, values, message) => {
    const merged = coalesce(MINIMAL, values);
    expect(() => render({ values: merged })).toThrow(message);
  });
});
