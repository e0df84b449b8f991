import type { MetricObjectWithValues, MetricValue } from "prom-client";

/**
 * The messages a cluster's primary and its worker processes exchange over
 * the IPC channel node:cluster gives them. Only metrics travel this way: a
 * scrape lands on one worker process, which asks the primary for the sum
 * over every process; the primary asks each process for its registry's
 * samples and aggregates them.
 */

/** Samples of one registry, as prom-client's `getMetricsAsJSON()` gives them. */
export type RegistrySamples = MetricObjectWithValues<MetricValue<string>>[];

/** worker → primary: a scrape wants the aggregated exposition. */
export interface ScrapeRequest {
  kind: "llm-gateway:scrape";
  id: number;
}

/** primary → worker: the aggregated exposition, or why there is none. */
export interface ScrapeReply {
  kind: "llm-gateway:scrape-reply";
  id: number;
  body?: string;
  contentType?: string;
  error?: string;
}

/** primary → worker: send your registry's samples. */
export interface CollectRequest {
  kind: "llm-gateway:collect";
  id: number;
}

/** worker → primary: this process's samples. */
export interface CollectReply {
  kind: "llm-gateway:collect-reply";
  id: number;
  samples?: RegistrySamples;
  error?: string;
}

export type ClusterMessage = ScrapeRequest | ScrapeReply | CollectRequest | CollectReply;

const KINDS = new Set<string>([
  "llm-gateway:scrape",
  "llm-gateway:scrape-reply",
  "llm-gateway:collect",
  "llm-gateway:collect-reply",
]);

/** Narrows an IPC message to one of ours (other code may share the channel). */
export function isClusterMessage(message: unknown): message is ClusterMessage {
  if (typeof message !== "object" || message === null) return false;
  const { kind, id } = message as { kind?: unknown; id?: unknown };
  return typeof kind === "string" && KINDS.has(kind) && typeof id === "number";
}
