import type { ServiceImpl } from "@connectrpc/connect";
import type { FleetService } from "../../../proto/gen/llmgateway/v1/fleet_service_pb.js";
import { authorize } from "../auth/authorize.js";
import { requirePrincipal } from "../auth/principal.js";
import { currentVersion } from "../changes/change-log.js";
import { read, type ServiceDeps } from "./deps.js";
import { listWorkerRows } from "./worker-status.js";

/**
 * The worker list, for operators: workers serve every tenant, so only
 * platform admins may read it (`workers.read`, granted to no role).
 */
export function createFleetService(deps: ServiceDeps): ServiceImpl<typeof FleetService> {
  return {
    async listWorkers(_req, ctx) {
      authorize(requirePrincipal(ctx), "workers.read");
      return read("workers", async () => {
        // Workers first: a version a worker reported was committed before, so no worker looks ahead.
        const workers = await listWorkerRows(deps.db);
        return { workers, currentVersion: BigInt(await currentVersion(deps.db)) };
      });
    },
  };
}
