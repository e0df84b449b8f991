import type { IncomingMessage, ServerResponse } from "node:http";
import { GatewayError } from "../http/errors.js";
import { answerError, authenticateRequest, type GatewayDeps } from "./common.js";

const modelObject = (id: string, owner: string) => ({ id, object: "model", created: 0, owned_by: owner });

/**
 * GET /v1/models and /v1/models/{id}: the models the caller's organization
 * can route (its routes' public names), in OpenAI's list shape. Not usage.
 */
export function createModelsHandler(deps: GatewayDeps) {
  return async function handleModels(req: IncomingMessage, res: ServerResponse, id?: string): Promise<void> {
    try {
      const key = await authenticateRequest(req, deps);
      const owner = deps.table.orgSlug(key.orgId) ?? key.orgId;
      let body: unknown;
      if (id === undefined) {
        const data = deps.table
          .modelsOf(key.orgId)
          .sort()
          .map((m) => modelObject(m, owner));
        body = { object: "list", data };
      } else {
        if (!deps.table.findRoute(key.orgId, id)) {
          throw new GatewayError(
            "model_not_found",
            `The model \`${id}\` does not exist or you do not have access to it.`,
            "model",
          );
        }
        body = modelObject(id, owner);
      }
      res.writeHead(200, { "content-type": "application/json" });
      res.end(JSON.stringify(body));
    } catch (err) {
      answerError(res, err, () => {});
    }
  };
}
