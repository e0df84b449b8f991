import type { Registry } from "prom-client";
import { type CollectReply, isClusterMessage, type ScrapeRequest } from "./messages.js";

/** The exposition a scrape answers with. */
export interface Exposition {
  body: string;
  contentType: string;
}

/** How long a scrape waits for the primary's aggregate before answering 503. */
const SCRAPE_TIMEOUT_MS = 10_000;

/** True in a worker process forked by the cluster primary (it has an IPC channel to it). */
export function inCluster(): boolean {
  return typeof process.send === "function" && process.env.LLM_GATEWAY_WORKER_PROCESS_INDEX !== undefined;
}

/**
 * In a cluster worker process: answers the primary's collect requests with
 * this process's samples, and returns how a scrape gets the sum over every
 * process (through the primary).
 */
export function joinClusterMetrics(registry: Registry): () => Promise<Exposition> {
  const pending = new Map<number, { resolve: (e: Exposition) => void; reject: (e: Error) => void }>();
  let nextId = 1;
  const send = (message: ScrapeRequest | CollectReply) => process.send?.(message);
  process.on("message", (message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.kind === "llm-gateway:collect") {
      registry.getMetricsAsJSON().then(
        (samples) => send({ kind: "llm-gateway:collect-reply", id: message.id, samples }),
        (error: Error) => send({ kind: "llm-gateway:collect-reply", id: message.id, error: error.message }),
      );
    } else if (message.kind === "llm-gateway:scrape-reply") {
      const waiting = pending.get(message.id);
      if (!waiting) return;
      pending.delete(message.id);
      if (message.body !== undefined && message.contentType !== undefined) {
        waiting.resolve({ body: message.body, contentType: message.contentType });
      } else waiting.reject(new Error(message.error ?? "no metrics from the primary"));
    }
  });
  return () =>
    new Promise<Exposition>((resolve, reject) => {
      const id = nextId++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error("the cluster primary did not answer in time"));
      }, SCRAPE_TIMEOUT_MS);
      pending.set(id, {
        resolve: (e) => {
          clearTimeout(timer);
          resolve(e);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      send({ kind: "llm-gateway:scrape", id });
    });
}

/** A single process's exposition: its own registry. */
export function localMetrics(registry: Registry): () => Promise<Exposition> {
  return async () => ({ body: await registry.metrics(), contentType: registry.contentType });
}
