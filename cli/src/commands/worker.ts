import cluster from "node:cluster";
import { createLogger } from "../../../lib/src/logger.js";
import { inCluster } from "../../../worker/src/cluster/child.js";
import { startPrimary } from "../../../worker/src/cluster/primary.js";
import { loadWorkerConfig } from "../../../worker/src/config.js";
import { applyHeapGrowth, missingNodeFlags } from "../../../worker/src/heap.js";
import { closeOnSignal } from "../lifecycle.js";

/**
 * `llm-gateway worker`: the OpenAI-compatible data plane. With
 * LLM_GATEWAY_WORKER_PROCESSES above 1 this process becomes the cluster
 * primary and forks that many worker processes, which run this same command.
 */
export async function runWorker(): Promise<void> {
  const log = createLogger("worker");
  const config = loadWorkerConfig();
  if (cluster.isPrimary && config.processes > 1) {
    const primary = startPrimary({ processes: config.processes, workerId: config.workerId, log });
    closeOnSignal(log, async () => {
      if (!(await primary.close())) throw new Error("a worker process did not exit cleanly");
    });
    return;
  }
  applyHeapGrowth(config.heapGrowthPercent);
  const missing = missingNodeFlags(process.execArgv);
  if (missing.length > 0) {
    // V8 takes these only on node's command line: the image's entrypoint and the cluster pass them.
    log.info({ missing }, "node runs without the gateway's V8 flags (docs/configuration.md)");
  }
  // loaded here, not at the top: the cluster primary does not carry the worker's modules
  const { startWorker } = await import("../../../worker/src/main.js");
  const worker = await startWorker(config, log, inCluster() ? { awaitTableMs: 10_000 } : {});
  // In a cluster the primary turns Ctrl-C into SIGTERM for each process: one drain, not two signals.
  closeOnSignal(log, () => worker.close(), inCluster() ? ["SIGTERM"] : ["SIGINT", "SIGTERM"]);
  if (inCluster()) process.on("SIGINT", () => {});
}
