import { Code, ConnectError, type ConnectRouter } from "@connectrpc/connect";
import {
  Health,
  HealthCheckResponse_ServingStatus as Status,
} from "../../../proto/gen/grpc/health/v1/health_pb.js";

const WATCH_INTERVAL_MS = 5000;

/**
 * grpc.health.v1 for load balancers and Kubernetes gRPC probes. The server
 * ("" service) and every registered service are SERVING while `check`
 * resolves true (the database answers), NOT_SERVING otherwise.
 */
export function registerHealth(
  router: ConnectRouter,
  serviceNames: readonly string[],
  check: () => Promise<boolean>,
): void {
  const known = new Set(["", ...serviceNames]);
  const status = async () => ((await check().catch(() => false)) ? Status.SERVING : Status.NOT_SERVING);
  router.service(Health, {
    async check(req) {
      if (!known.has(req.service)) throw new ConnectError(`unknown service ${req.service}`, Code.NotFound);
      return { status: await status() };
    },
    async *watch(req, ctx) {
      if (!known.has(req.service)) {
        yield { status: Status.SERVICE_UNKNOWN };
        return;
      }
      let last: Status | undefined;
      while (!ctx.signal.aborted) {
        const now = await status();
        if (now !== last) {
          last = now;
          yield { status: now };
        }
        await new Promise((resolve) => setTimeout(resolve, WATCH_INTERVAL_MS).unref());
      }
    },
  });
}
