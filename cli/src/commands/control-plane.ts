import { loadControlPlaneConfig } from "../../../control-plane/src/config.js";
import { startControlPlane } from "../../../control-plane/src/main.js";
import { createLogger } from "../../../lib/src/logger.js";
import { closeOnSignal, printOnce } from "../lifecycle.js";

/** `llm-gateway control-plane`: the management API and the workers' routing-table source. */
export async function runControlPlane(): Promise<void> {
  const log = createLogger("control-plane");
  const cp = await startControlPlane(loadControlPlaneConfig(), log);
  if (cp.createdAdminKey) {
    printOnce("Platform admin API key (shown once, store it now):", [cp.createdAdminKey]);
  }
  closeOnSignal(log, () => cp.close());
}
