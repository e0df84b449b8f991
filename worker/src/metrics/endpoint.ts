import type { IncomingMessage, ServerResponse } from "node:http";
import type { Exposition } from "../cluster/child.js";
import { keyHash } from "../http/auth.js";
import { GatewayError, sendError } from "../http/errors.js";
import type { RoutingTable } from "../table/routing-table.js";

/** The path Prometheus and VictoriaMetrics scrape, as the product documents name it. */
export const METRICS_PATH = "/metrics/ai-gateway";

/**
 * GET /metrics/ai-gateway: the Prometheus exposition, for callers presenting
 * an operator-generated metrics token as a bearer token (only its SHA-256 is
 * in the routing table, so a rotated or revoked token stops working as soon
 * as the change reaches the worker). `render` gives this process's registry,
 * or, in a cluster, the sum over every worker process.
 */
export function createMetricsHandler(table: RoutingTable, render: () => Promise<Exposition>) {
  return async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (req.method !== "GET") {
      sendError(res, new GatewayError("method_not_allowed", `use GET for ${METRICS_PATH}`), { allow: "GET" });
      return;
    }
    const auth = req.headers.authorization ?? "";
    const token = /^bearer /i.test(auth) ? auth.slice(7).trim() : "";
    const hash = keyHash(token);
    if (!token || !table.isMetricsToken(hash)) {
      sendError(
        res,
        new GatewayError(
          "invalid_api_key",
          "a valid metrics token is required (Authorization: Bearer <token>)",
        ),
        { "www-authenticate": 'Bearer realm="metrics"' },
      );
      return;
    }
    let exposition: Exposition;
    try {
      exposition = await render();
    } catch (error) {
      sendError(
        res,
        new GatewayError("gateway_not_ready", `metrics unavailable: ${(error as Error).message}`),
      );
      return;
    }
    res.writeHead(200, { "content-type": exposition.contentType, "cache-control": "no-store" });
    res.end(exposition.body);
  };
}
