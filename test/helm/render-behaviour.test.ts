import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { IHorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import type { IJob } from "kubernetes-models/batch/v1/Job";
import type { INetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import type { IService } from "kubernetes-models/v1/Service";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { CHART_DIR, type K8sObject, parseYaml11 } from "./lib/chart.js";
import {
  container,
  DEVELOPMENT,
  deployment,
  example,
  find,
  MINIMAL,
  podLabels,
  podSpec,
  render,
  type Selector,
  selects,
} from "./lib/scenarios.js";

/** What the chart promises, read off rendered objects (see render.test.ts for the renderer's limits). */
const managed = render({ values: example("managed.yaml") }).objects;
const selfHosted = render({ values: example("self-hosted.yaml") }).objects;
const minimal = render({ values: MINIMAL }).objects;
const development = render({ values: DEVELOPMENT }).objects;
const env = (o: K8sObject) => Object.fromEntries((container(o).env ?? []).map((e) => [e.name, e]));
const as = <T>(o: K8sObject | undefined): T => {
  if (!o) throw new Error("object not rendered");
  return o as unknown as T;
};
const labelsOf = (objects: K8sObject[], component: string) =>
  podLabels(objects).find((p) => p.labels["app.kubernetes.io/component"] === component)?.labels ?? {};

describe("workers", () => {
  it("probe /readyz for readiness and /healthz for liveness, HTTPS when they terminate TLS", () => {
    const plain = container(deployment(minimal, "worker") as unknown as K8sObject);
    expect(plain.readinessProbe?.httpGet).toMatchObject({ path: "/readyz", port: "http", scheme: "HTTP" });
    expect(plain.livenessProbe?.httpGet).toMatchObject({ path: "/healthz", port: "http", scheme: "HTTP" });
    const tls = container(deployment(selfHosted, "worker") as unknown as K8sObject);
    expect(tls.readinessProbe?.httpGet?.scheme).toBe("HTTPS");
  });

  it("get a grace period above their drain (delay ~5 s, timeout from SIGTERM) plus the usage flush", () => {
    for (const [objects, timeout] of [
      [minimal, 30_000],
      [managed, 120_000],
    ] as const) {
      const d = deployment(objects, "worker");
      const e = env(d as unknown as K8sObject);
      expect(e.LLM_GATEWAY_DRAIN_DELAY_MS?.value).toBe("5000");
      expect(e.LLM_GATEWAY_DRAIN_TIMEOUT_MS?.value).toBe(String(timeout));
      const grace = (d.spec?.template.spec?.terminationGracePeriodSeconds ?? 0) * 1000;
      expect(grace).toBe(timeout + 15_000);
    }
  });

  it("print large millisecond values as integers (Helm would print float64 1200000 as 1.2e+06)", () => {
    const objects = render({ values: { ...MINIMAL, worker: { drainTimeoutMs: 1_200_000 } } }).objects;
    const d = deployment(objects, "worker");
    expect(env(d as unknown as K8sObject).LLM_GATEWAY_DRAIN_TIMEOUT_MS?.value).toBe("1200000");
    expect(d.spec?.template.spec?.terminationGracePeriodSeconds).toBe(1215);
  });

  it("run worker.processes processes per pod (1 by default)", () => {
    expect(
      env(deployment(minimal, "worker") as unknown as K8sObject).LLM_GATEWAY_WORKER_PROCESSES?.value,
    ).toBe("1");
    const objects = render({ values: { ...MINIMAL, worker: { processes: 4 } } }).objects;
    expect(
      env(deployment(objects, "worker") as unknown as K8sObject).LLM_GATEWAY_WORKER_PROCESSES?.value,
    ).toBe("4");
  });

  it("reach the control plane through its Service and identify themselves by pod name", () => {
    const e = env(deployment(minimal, "worker") as unknown as K8sObject);
    const svc = as<IService>(find(minimal, "Service", "-control-plane"));
    expect(e.LLM_GATEWAY_CONTROL_PLANE_URL?.value).toBe(
      `http://${svc.metadata?.name}:${svc.spec?.ports?.[0]?.port}`,
    );
    expect(e.LLM_GATEWAY_WORKER_ID?.valueFrom?.fieldRef?.fieldPath).toBe("metadata.name");
    expect(e.LLM_GATEWAY_WORKER_TOKEN?.valueFrom?.secretKeyRef).toEqual({
      name: "llm-gateway",
      key: "worker-token",
    });
  });

  it("terminate TLS from a mounted Secret with the two TLS variables (no Envoy)", () => {
    const d = deployment(selfHosted, "worker");
    const e = env(d as unknown as K8sObject);
    expect(e.LLM_GATEWAY_TLS_CERT_FILE?.value).toBe("/etc/llm-gateway/tls/tls.crt");
    expect(e.LLM_GATEWAY_TLS_KEY_FILE?.value).toBe("/etc/llm-gateway/tls/tls.key");
    expect(podSpec(d as unknown as K8sObject).volumes).toContainEqual({
      name: "tls",
      secret: { secretName: "llm-gateway-worker-tls" },
    });
    expect(find(selfHosted, "Deployment", "-envoy")).toBeUndefined();
  });

  it("scale on CPU, and on llm_gateway_active_requests per pod when enabled", () => {
    const hpa = as<IHorizontalPodAutoscaler>(find(managed, "HorizontalPodAutoscaler", "-worker"));
    expect(hpa.spec?.scaleTargetRef).toEqual({
      apiVersion: "apps/v1",
      kind: "Deployment",
      name: "llm-gateway-worker",
    });
    expect(hpa.spec?.metrics?.map((m) => m.type)).toEqual(["Resource", "Pods"]);
    expect(hpa.spec?.metrics?.[1]?.pods?.metric.name).toBe("llm_gateway_active_requests");
    const plain = as<IHorizontalPodAutoscaler>(find(minimal, "HorizontalPodAutoscaler", "-worker"));
    expect(plain.spec?.metrics?.map((m) => m.type)).toEqual(["Resource"]);
    expect(deployment(minimal, "worker").spec?.replicas).toBeUndefined(); // the HPA owns it
  });
});

describe("Envoy", () => {
  const envoyFile = readFileSync(join(CHART_DIR, "files", "envoy", "envoy.yaml"), "utf8");
  const envoyConfig = (objects: K8sObject[]): string =>
    (find(objects, "ConfigMap", "-envoy")?.data as Record<string, string> | undefined)?.["envoy.yaml"] ?? "";
  const bootstrap = (objects: K8sObject[]) =>
    parse(envoyConfig(objects)) as {
      static_resources: {
        listeners: Array<{ address: { socket_address: { port_value: number } } }>;
        clusters: Array<{ name: string; load_assignment: { endpoints: Array<{ lb_endpoints: unknown[] }> } }>;
      };
      overload_manager: { resource_monitors: Array<{ typed_config: { max_heap_size_bytes?: number } }> };
    };
  type Endpoint = { endpoint: { address: { socket_address: { address: string; port_value: number } } } };
  const address = (cluster: { load_assignment: { endpoints: Array<{ lb_endpoints: unknown[] }> } }) => {
    const first = cluster.load_assignment.endpoints[0]?.lb_endpoints[0] as Endpoint | undefined;
    return first?.endpoint.address.socket_address;
  };

  it("gets envoy/envoy.yaml unchanged for the release named llm-gateway", () => {
    expect(parse(envoyFile)).toEqual(bootstrap(minimal));
  });

  it("sends to the headless Services this release creates, on their ports (any release name)", () => {
    for (const objects of [minimal, render({ values: MINIMAL, options: { releaseName: "prod" } }).objects]) {
      const clusters = bootstrap(objects).static_resources.clusters;
      for (const [cluster, suffix] of [
        ["llm_gateway_worker", "-worker-headless"],
        ["llm_gateway_control_plane", "-control-plane-headless"],
      ] as const) {
        const svc = as<IService>(find(objects, "Service", suffix));
        const target = address(clusters.find((c) => c.name === cluster) as (typeof clusters)[number]);
        expect(target).toEqual({ address: svc.metadata?.name, port_value: svc.spec?.ports?.[0]?.port });
        expect(svc.spec?.clusterIP).toBe("None");
      }
    }
  });

  it("mounts what the bootstrap reads, exposes its listeners, and has room above the heap monitor", () => {
    const d = deployment(minimal, "envoy");
    const c = container(d as unknown as K8sObject);
    const mounts = Object.fromEntries((c.volumeMounts ?? []).map((m) => [m.mountPath, m]));
    expect(Object.keys(mounts)).toEqual(
      expect.arrayContaining(["/etc/envoy/envoy.yaml", "/etc/envoy/sds", "/etc/envoy/tls"]),
    );
    expect(c.args?.slice(0, 2)).toEqual(["--config-path", "/etc/envoy/envoy.yaml"]);
    for (const path of ["/etc/envoy/sds/tls-certificate.yaml", "/etc/envoy/tls"])
      expect(envoyFile).toContain(path);
    const ports = bootstrap(minimal).static_resources.listeners.map(
      (l) => l.address.socket_address.port_value,
    );
    expect(c.ports?.map((p) => p.containerPort).sort()).toEqual([...ports].sort());
    const heap =
      bootstrap(minimal).overload_manager.resource_monitors[0]?.typed_config.max_heap_size_bytes ?? 0;
    expect(String(c.resources?.limits?.memory)).toBe("1536Mi");
    expect(1536 * 1024 * 1024).toBeGreaterThan(heap);
    expect(podSpec(d as unknown as K8sObject).volumes).toContainEqual({
      name: "tls",
      secret: { secretName: "edge-tls" },
    });
  });
});

describe("NetworkPolicies", () => {
  const policy = (objects: K8sObject[], suffix: string) =>
    as<INetworkPolicy>(find(objects, "NetworkPolicy", suffix));
  /** The peers each ingress rule admits; a rule without `from` admits anyone. */
  const admitted = (objects: K8sObject[], suffix: string): Array<Record<string, unknown>> =>
    (policy(objects, suffix).spec?.ingress ?? []).flatMap(
      (rule): Array<Record<string, unknown>> =>
        rule.from ? rule.from.map((p) => ({ ...p })) : [{ anyone: true }],
    );

  it("let only workers and Envoy reach the control plane's port (WorkerService RPCs, management API)", () => {
    const peers = admitted(minimal, "-control-plane");
    expect(peers).toHaveLength(2);
    const pods = podLabels(minimal);
    const reached = pods.filter((p) =>
      peers.some((peer) => "podSelector" in peer && selects(peer.podSelector as Selector, p.labels)),
    );
    expect(reached.map((p) => p.labels["app.kubernetes.io/component"]).sort()).toEqual(["envoy", "worker"]);
    expect(admitted(selfHosted, "-control-plane")).toHaveLength(2); // workers + the ops namespace
    expect(
      selects(
        policy(minimal, "-control-plane").spec?.podSelector as Selector,
        labelsOf(minimal, "control-plane"),
      ),
    ).toBe(true);
  });

  it("keep WorkerService paths away from Envoy's routes (NetworkPolicies cannot see paths)", () => {
    const routes = (
      parse(readFileSync(join(CHART_DIR, "files", "envoy", "envoy.yaml"), "utf8")) as {
        static_resources: { listeners: Array<{ name: string } & Record<string, unknown>> };
      }
    ).static_resources.listeners;
    const text = JSON.stringify(routes);
    // The first route matching a WorkerService path is a direct 404, listed before the RPC prefix route.
    const blocked = text.indexOf('"prefix":"/llmgateway.v1.WorkerService/"');
    const rpc = text.indexOf('"prefix":"/llmgateway.v1."');
    expect(blocked).toBeGreaterThan(-1);
    expect(blocked).toBeLessThan(rpc);
  });

  it("let Envoy and whoever scrapes reach workers; without Envoy workers are the edge", () => {
    expect(admitted(managed, "-worker")).toHaveLength(2); // Envoy + metricsFrom
    expect(admitted(selfHosted, "-worker")).toEqual([{ anyone: true }]);
  });
});

describe("monitoring", () => {
  it("scrapes /metrics/ai-gateway with the metrics token from its Secret, once per pod", () => {
    const sm = find(managed, "ServiceMonitor", "-worker") as K8sObject;
    const spec = sm.spec as { selector: Selector; endpoints: Array<Record<string, unknown>> };
    expect(spec.endpoints[0]).toMatchObject({
      path: "/metrics/ai-gateway",
      port: "http",
      authorization: { type: "Bearer", credentials: { name: "llm-gateway", key: "metrics-token" } },
    });
    const services = managed.filter((o) => o.kind === "Service" && selects(spec.selector, o.metadata.labels));
    expect(services.map((s) => s.metadata.name)).toEqual(["llm-gateway-worker"]);
    const pm = find(selfHosted, "PodMonitor", "-worker") as K8sObject;
    expect((pm.spec as { podMetricsEndpoints: unknown[] }).podMetricsEndpoints[0]).toMatchObject({
      scheme: "https",
    });
  });

  it("ships files/prometheus-rules.yaml as the PrometheusRule unchanged", () => {
    const rule = find(managed, "PrometheusRule", "-rules") as K8sObject;
    expect(rule.spec).toEqual(
      parseYaml11(readFileSync(join(CHART_DIR, "files", "prometheus-rules.yaml"), "utf8")),
    );
    const dashboard = find(managed, "ConfigMap", "-dashboard") as K8sObject;
    const json = (dashboard.data as Record<string, string>)["llm-gateway.json"] ?? "";
    expect(JSON.parse(json)).toEqual(
      JSON.parse(readFileSync(join(CHART_DIR, "files", "grafana-dashboard.json"), "utf8")),
    );
  });
});

describe("migrations and secrets", () => {
  it("migrate in a pre-install/pre-upgrade hook Job reading DATABASE_URL from its Secret", () => {
    const job = as<IJob>(find(managed, "Job", "-migrate"));
    expect(job.metadata?.annotations?.["helm.sh/hook"]).toBe("pre-install,pre-upgrade");
    const c = job.spec?.template.spec?.containers[0];
    expect(c?.args).toEqual(["migrate"]);
    expect(c?.env?.find((e) => e.name === "DATABASE_URL")?.valueFrom?.secretKeyRef).toEqual({
      name: "llm-gateway-postgres",
      key: "url",
    });
  });

  it("creates a Secret only in development, as a hook that exists before the migration Job", () => {
    for (const objects of [managed, selfHosted, minimal])
      expect(objects.some((o) => o.kind === "Secret")).toBe(false);
    const secret = find(development, "Secret", "-dev") as K8sObject;
    const weight = (o: K8sObject) => Number(o.metadata.annotations?.["helm.sh/hook-weight"]);
    expect(weight(secret)).toBeLessThan(weight(find(development, "Job", "-migrate") as K8sObject));
    const refs = development
      .filter((o) => o.kind === "Deployment" || o.kind === "Job")
      .flatMap((o) => podSpec(o).containers.flatMap((c) => c.env ?? []))
      .map((e) => e.valueFrom?.secretKeyRef)
      .filter((r) => r !== undefined);
    const data = secret.stringData as Record<string, string>;
    for (const r of refs) {
      expect(r.name).toBe(secret.metadata.name);
      expect(Object.keys(data)).toContain(r.key);
    }
  });
});
