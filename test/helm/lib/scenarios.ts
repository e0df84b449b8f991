import { join } from "node:path";
import type { IDeployment } from "kubernetes-models/apps/v1/Deployment";
import type { IContainer } from "kubernetes-models/v1/Container";
import type { IPodSpec } from "kubernetes-models/v1/PodSpec";
import {
  CHART_DIR,
  chartValues,
  coalesce,
  type K8sObject,
  type RenderOptions,
  readYaml,
  renderChart,
  type Values,
} from "./chart.js";

/** The smallest production values: a Secret and Envoy's certificate. */
export const MINIMAL: Values = {
  secrets: { existingSecret: "llm-gateway" },
  envoy: { tlsSecretName: "edge-tls" },
};

/** Everything on, with the development Secret (the one path the examples do not take). */
export const DEVELOPMENT: Values = {
  secrets: {
    development: {
      create: true,
      masterKey: "bWFzdGVyLWtleS1mb3ItZGV2ZWxvcG1lbnQtb25seSE=",
      workerToken: "dev-worker-token",
      adminKey: "lgw_dev",
      metricsToken: "lgm_dev",
      databaseUrl: "postgres://gateway:dev@postgres:5432/gateway",
      redisUrl: "redis://redis:6379",
    },
  },
  envoy: { tlsSecretName: "edge-tls" },
  networkPolicy: { metricsFrom: [{ podSelector: { matchLabels: { app: "prometheus" } } }] },
  monitoring: {
    workers: { enabled: true, kind: "PodMonitor" },
    envoy: { enabled: true },
    prometheusRule: { enabled: true },
    grafanaDashboard: { enabled: true },
  },
};

export const example = (file: string): Values => readYaml(join(CHART_DIR, "examples", file)) as Values;

export interface Scenario {
  name: string;
  values: Values;
  options?: RenderOptions;
}

export const SCENARIOS: Scenario[] = [
  { name: "examples/managed.yaml", values: example("managed.yaml") },
  { name: "examples/self-hosted.yaml", values: example("self-hosted.yaml") },
  { name: "minimal", values: MINIMAL },
  { name: "development", values: DEVELOPMENT },
  {
    name: "minimal, release prod in namespace ai",
    values: MINIMAL,
    options: { releaseName: "prod", namespace: "ai" },
  },
];

export function render(scenario: Pick<Scenario, "values" | "options">) {
  return renderChart(coalesce(chartValues(), scenario.values), scenario.options);
}

export const find = (objects: K8sObject[], kind: string, suffix: string): K8sObject | undefined =>
  objects.find((o) => o.kind === kind && o.metadata.name.endsWith(suffix));

export function deployment(objects: K8sObject[], component: string): IDeployment {
  const d = objects.find(
    (o) => o.kind === "Deployment" && o.metadata.labels?.["app.kubernetes.io/component"] === component,
  );
  if (!d) throw new Error(`no ${component} Deployment`);
  return d as unknown as IDeployment;
}

export function podSpec(o: K8sObject): IPodSpec {
  const spec = (o as unknown as { spec: { template: { spec: IPodSpec } } }).spec.template.spec;
  return spec;
}

export const container = (o: K8sObject | IDeployment): IContainer => {
  const c = podSpec(o as K8sObject).containers[0];
  if (!c) throw new Error("no container");
  return c;
};

export interface Selector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

/** Kubernetes label-selector semantics (an empty selector matches everything). */
export function selects(selector: Selector, labels: Record<string, string> = {}): boolean {
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const value = labels[e.key] ?? "";
    const ok =
      e.operator === "In"
        ? has && (e.values ?? []).includes(value)
        : e.operator === "NotIn"
          ? !has || !(e.values ?? []).includes(value)
          : e.operator === "Exists"
            ? has
            : e.operator === "DoesNotExist"
              ? !has
              : false;
    if (!ok) return false;
  }
  return true;
}

/** Pods (template labels) of every workload (Deployments and Jobs) rendered. */
export function podLabels(objects: K8sObject[]): Array<{ owner: string; labels: Record<string, string> }> {
  return objects
    .filter((o) => o.kind === "Deployment" || o.kind === "Job")
    .map((o) => ({
      owner: o.metadata.name,
      labels: (o as unknown as { spec: { template: { metadata: { labels: Record<string, string> } } } }).spec
        .template.metadata.labels,
    }));
}
