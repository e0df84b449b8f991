import cluster, { type Worker as ClusterWorker } from "node:cluster";
import type { Logger } from "../../../lib/src/logger.js";
import { mallocDefaults, withNodeFlags } from "../heap.js";
import { aggregateSamples } from "./aggregate.js";
import { type CollectRequest, isClusterMessage, type RegistrySamples, type ScrapeReply } from "./messages.js";

export interface PrimaryOptions {
  /** worker processes to keep running */
  processes: number;
  /** each process's LLM_GATEWAY_WORKER_ID is `<workerId>-<index>` */
  workerId: string;
  log: Logger;
  /** how long one process may take to send its samples for a scrape */
  collectTimeoutMs?: number;
}

interface Collecting {
  got: RegistrySamples[];
  want: number;
  done(): void;
  fail(error: Error): void;
}

export interface Primary {
  /** SIGTERM to every process (each drains), resolves with true when all exited 0. */
  close(): Promise<boolean>;
}

/** Restart delay after a crash: doubles while processes crash soon after starting. */
const RESTART_MIN_MS = 500;
const RESTART_MAX_MS = 30_000;
const STABLE_AFTER_MS = 60_000;

/**
 * The cluster primary of `llm-gateway worker` with LLM_GATEWAY_WORKER_PROCESSES
 * above 1: forks that many worker processes (this same command; they share
 * the listening port, node:cluster hands out connections in turn), restarts
 * any that dies, drains them all on close, and answers their scrape
 * requests with the sum of every process's metrics.
 */
export function startPrimary(o: PrimaryOptions): Primary {
  const byIndex = new Map<number, ClusterWorker>();
  const listening = new Set<ClusterWorker>();
  let closing = false;
  let nextCollect = 1;
  const collecting = new Map<number, Collecting>();

  const fork = (index: number, delayMs: number) => {
    const started = Date.now();
    const w = cluster.fork({
      ...mallocDefaults(process.env),
      LLM_GATEWAY_WORKER_ID: `${o.workerId}-${index}`,
      LLM_GATEWAY_WORKER_PROCESS_INDEX: String(index),
    });
    byIndex.set(index, w);
    w.on("listening", () => listening.add(w));
    w.on("message", (message: unknown) => onMessage(w, message));
    w.on("exit", (code, signal) => {
      listening.delete(w);
      if (byIndex.get(index) === w) byIndex.delete(index);
      if (closing) return;
      const ranMs = Date.now() - started;
      const next = ranMs > STABLE_AFTER_MS ? RESTART_MIN_MS : Math.min(RESTART_MAX_MS, delayMs * 2);
      o.log.error({ index, pid: w.process.pid, code, signal, restartInMs: next }, "worker process exited");
      setTimeout(() => {
        if (!closing) fork(index, next);
      }, next).unref();
    });
  };

  const collect = (): Promise<RegistrySamples[]> => {
    const workers = [...listening].filter((w) => w.isConnected());
    if (workers.length === 0) return Promise.reject(new Error("no worker process is listening"));
    const id = nextCollect++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(
        () =>
          entry.fail(new Error(`${entry.want - entry.got.length} worker process(es) did not send metrics`)),
        o.collectTimeoutMs ?? 5000,
      );
      // A partial sum would make counters go backwards: one missing process fails the scrape.
      const entry: Collecting = {
        got: [],
        want: workers.length,
        done() {
          clearTimeout(timer);
          collecting.delete(id);
          resolve(entry.got);
        },
        fail(error) {
          clearTimeout(timer);
          collecting.delete(id);
          reject(error);
        },
      };
      collecting.set(id, entry);
      const request: CollectRequest = { kind: "llm-gateway:collect", id };
      for (const w of workers) w.send(request);
    });
  };

  const onMessage = (from: ClusterWorker, message: unknown) => {
    if (!isClusterMessage(message)) return;
    if (message.kind === "llm-gateway:collect-reply") {
      const entry = collecting.get(message.id);
      if (!entry) return;
      if (!message.samples)
        entry.fail(new Error(`a worker process failed: ${message.error ?? "no samples"}`));
      else if (entry.got.push(message.samples) >= entry.want) entry.done();
    } else if (message.kind === "llm-gateway:scrape") {
      const reply = (r: Omit<ScrapeReply, "kind" | "id">) => {
        if (from.isConnected()) from.send({ kind: "llm-gateway:scrape-reply", id: message.id, ...r });
      };
      collect()
        .then(aggregateSamples)
        .then(
          (e) => reply({ body: e.body, contentType: e.contentType }),
          (error: Error) => {
            o.log.warn({ err: error.message }, "cluster metrics scrape failed");
            reply({ error: error.message });
          },
        );
    }
  };

  // The processes run with the gateway's V8 flags (heap.ts NODE_FLAGS), which only node's command line sets.
  cluster.setupPrimary({ execArgv: withNodeFlags(process.execArgv) });
  for (let i = 1; i <= o.processes; i++) fork(i, RESTART_MIN_MS);
  o.log.info({ processes: o.processes, pid: process.pid }, "worker cluster primary started");

  return {
    async close() {
      closing = true;
      const workers = [...byIndex.values()];
      const exits = workers.map(
        (w) =>
          new Promise<boolean>((resolve) => {
            if (w.isDead()) resolve(w.process.exitCode === 0);
            else w.once("exit", (code) => resolve(code === 0));
          }),
      );
      for (const w of workers) w.process.kill("SIGTERM");
      return (await Promise.all(exits)).every(Boolean);
    },
  };
}
