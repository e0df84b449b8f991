import type { IncomingMessage, ServerResponse } from "node:http";
import type { Registry } from "prom-client";
import { keyHash } from "../http/auth.js";
import { GatewayError, sendError } from "../http/errors.js";
import type { RoutingTable } from "../table/routing-table.js";

/** The path Prometheus and VictoriaMetrics scrape, as the product documents name it. */
export const METRICS_PATH = "/metrics/ai-gateway";

/**
 * GET /metrics/ai-gateway: the Prometheus exposition, for callers presenting
 * an operator-generated metrics token as a bearer token (only its SHA-256 is
 * in the routing table, so a rotated or revoked token stops working as soon
 * as the change reaches the worker).
 */
export function createMetricsHandler(table: RoutingTable, registry: Registry) {
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
    const body = await registry.metrics();
    res.writeHead(200, { "content-type": registry.contentType, "cache-control": "no-store" });
    res.end(body);
  };
}
