import { createLogger } from "../../../lib/src/logger.js";
import { loadWorkerConfig } from "../../../worker/src/config.js";
import { startWorker } from "../../../worker/src/main.js";
import { closeOnSignal } from "../lifecycle.js";

/** `llm-gateway worker`: the OpenAI-compatible data plane. */
export async function runWorker(): Promise<void> {
  const log = createLogger("worker");
  const worker = await startWorker(loadWorkerConfig(), log);
  closeOnSignal(log, () => worker.close());
}
