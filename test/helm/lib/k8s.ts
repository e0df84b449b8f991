import { join } from "node:path";
import { Ajv } from "ajv";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { HorizontalPodAutoscaler } from "kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler";
import { Job } from "kubernetes-models/batch/v1/Job";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1/NetworkPolicy";
import { PodDisruptionBudget } from "kubernetes-models/policy/v1/PodDisruptionBudget";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Secret } from "kubernetes-models/v1/Secret";
import { Service } from "kubernetes-models/v1/Service";
import ts from "typescript";
import { projectRoot } from "../../../lib/src/paths.js";
import type { K8sObject } from "./chart.js";

interface Validatable {
  validate(): void;
}

/** Built-in kinds the chart renders: kubernetes-models class and its TypeScript interface. */
const BUILT_IN: Record<string, { model: new (data: never) => Validatable; module: string; type: string }> = {
  "v1/Secret": { model: Secret, module: "v1/Secret", type: "ISecret" },
  "v1/ConfigMap": { model: ConfigMap, module: "v1/ConfigMap", type: "IConfigMap" },
  "v1/Service": { model: Service, module: "v1/Service", type: "IService" },
  "apps/v1/Deployment": { model: Deployment, module: "apps/v1/Deployment", type: "IDeployment" },
  "autoscaling/v2/HorizontalPodAutoscaler": {
    model: HorizontalPodAutoscaler,
    module: "autoscaling/v2/HorizontalPodAutoscaler",
    type: "IHorizontalPodAutoscaler",
  },
  "batch/v1/Job": { model: Job, module: "batch/v1/Job", type: "IJob" },
  "networking.k8s.io/v1/NetworkPolicy": {
    model: NetworkPolicy,
    module: "networking.k8s.io/v1/NetworkPolicy",
    type: "INetworkPolicy",
  },
  "policy/v1/PodDisruptionBudget": {
    model: PodDisruptionBudget,
    module: "policy/v1/PodDisruptionBudget",
    type: "IPodDisruptionBudget",
  },
};

const keyOf = (o: K8sObject) => `${o.apiVersion}/${o.kind}`;
export const nameOf = (o: K8sObject) => `${o.kind}/${o.metadata.name}`;

/**
 * kubernetes-models' validation (the API's OpenAPI schema: required fields,
 * types, enums, formats). Unknown kinds are reported, so nothing slips past.
 */
export function schemaErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    const entry = BUILT_IN[keyOf(o)];
    if (!entry) {
      if (!MONITORING[o.kind]) errors.push(`${nameOf(o)}: ${keyOf(o)} is not a kind this test knows`);
      continue;
    }
    try {
      new entry.model(o as never).validate();
    } catch (err) {
      errors.push(`${nameOf(o)}: ${(err as Error).message}`);
    }
  }
  return errors;
}

/**
 * Unknown fields, which the OpenAPI validation above lets through (the API
 * server drops them silently, so a typo such as `readinesProbe` loses a probe):
 * each object becomes an object literal typed with its kubernetes-models
 * interface, and TypeScript's excess-property check names any field the API
 * does not have, at any depth.
 */
export function unknownFieldErrors(objects: K8sObject[]): string[] {
  const builtIn = objects.filter((o) => BUILT_IN[keyOf(o)]);
  const file = join(projectRoot(), "test", "helm", "__rendered_objects__.ts");
  const lines = builtIn.map((o, i) => {
    const entry = BUILT_IN[keyOf(o)] as { module: string; type: string };
    return [
      `import type { ${entry.type} as T${i} } from "kubernetes-models/${entry.module}";`,
      `export const o${i}: T${i} = ${JSON.stringify(o)};`,
    ].join("\n");
  });
  const source = lines.join("\n");
  const options: ts.CompilerOptions = {
    strict: true,
    noEmit: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    skipLibCheck: true,
    types: [],
  };
  const host = ts.createCompilerHost(options);
  const read = host.getSourceFile.bind(host);
  host.getSourceFile = (name, lang, ...rest) =>
    name === file ? ts.createSourceFile(name, source, lang) : read(name, lang, ...rest);
  const diagnostics = ts.getPreEmitDiagnostics(ts.createProgram([file], options, host));
  return diagnostics.map((d) => {
    const line = d.file && d.start !== undefined ? d.file.getLineAndCharacterOfPosition(d.start).line : -1;
    const index = Math.floor(line / 2);
    const who = builtIn[index] ? nameOf(builtIn[index]) : "?";
    return `${who}: ${ts.flattenDiagnosticMessageText(d.messageText, " ")}`;
  });
}

/**
 * prometheus-operator kinds (monitoring.coreos.com/v1): no model package is
 * installed, so a hand-written subset of their CRD schemas covering every field
 * the chart writes, closed (`additionalProperties: false`) so a misspelt field
 * fails here. Not the CRD itself: `kubeconform` with the CRD catalog is
 * stricter (scripts/helm-check.sh).
 */
const str = { type: "string" };
const closed = (properties: Record<string, unknown>, required: string[] = []) => ({
  type: "object",
  additionalProperties: false,
  properties,
  required,
});
const labelMap = { type: "object", additionalProperties: str };
const metadata = closed({ name: str, namespace: str, labels: labelMap, annotations: labelMap }, ["name"]);
const selector = closed({
  matchLabels: labelMap,
  matchExpressions: { type: "array", items: closed({ key: str, operator: str, values: { type: "array" } }) },
});
const endpoint = closed(
  {
    port: str,
    path: str,
    scheme: { enum: ["http", "https"] },
    interval: {
      type: "string",
      pattern: "^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$",
    },
    scrapeTimeout: { type: "string", pattern: "^(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?$" },
    authorization: closed({ type: str, credentials: closed({ name: str, key: str }, ["key"]) }),
    tlsConfig: closed({ insecureSkipVerify: { type: "boolean" }, serverName: str }),
  },
  ["port"],
);
const monitor = (endpoints: string) =>
  closed(
    {
      apiVersion: { const: "monitoring.coreos.com/v1" },
      kind: str,
      metadata,
      spec: closed(
        {
          selector,
          namespaceSelector: closed({ matchNames: { type: "array", items: str }, any: { type: "boolean" } }),
          [endpoints]: { type: "array", minItems: 1, items: endpoint },
        },
        ["selector", endpoints],
      ),
    },
    ["apiVersion", "kind", "metadata", "spec"],
  );
const rule = closed(
  {
    alert: str,
    record: str,
    expr: { type: ["string", "integer"] },
    for: str,
    keep_firing_for: str,
    labels: labelMap,
    annotations: labelMap,
  },
  ["expr"],
);
const prometheusRule = closed(
  {
    apiVersion: { const: "monitoring.coreos.com/v1" },
    kind: { const: "PrometheusRule" },
    metadata,
    spec: closed(
      {
        groups: {
          type: "array",
          minItems: 1,
          items: closed(
            { name: str, interval: str, limit: { type: "integer" }, rules: { type: "array", items: rule } },
            ["name", "rules"],
          ),
        },
      },
      ["groups"],
    ),
  },
  ["apiVersion", "kind", "metadata", "spec"],
);
const ajv = new Ajv({ allErrors: true, strict: false });
const MONITORING: Record<string, ReturnType<Ajv["compile"]>> = {
  ServiceMonitor: ajv.compile(monitor("endpoints")),
  PodMonitor: ajv.compile(monitor("podMetricsEndpoints")),
  PrometheusRule: ajv.compile(prometheusRule),
};

/** Errors of the monitoring objects against the subsets above. */
export function monitoringErrors(objects: K8sObject[]): string[] {
  const errors: string[] = [];
  for (const o of objects) {
    const validate = MONITORING[o.kind];
    if (!validate) continue;
    if (!validate(o)) errors.push(`${nameOf(o)}: ${ajv.errorsText(validate.errors)}`);
  }
  return errors;
}
