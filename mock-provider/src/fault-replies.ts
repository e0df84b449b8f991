/**
 * Wire behaviour of fault rule outcomes: error statuses, socket resets and
 * malformed 200s. Every piece is a constant or pre-serialised at rule time.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultOutcome } from "./fault-table.js";
import type { FaultRoute } from "./faults.js";
import { SSE_HEADERS, sendJson } from "./handlers.js";

/** Truncated chat completion: the JSON body of `malformed: "json"` and partial body of an `after-headers` reset. */
export const PARTIAL_CHAT_JSON =
  '{"id":"chatcmpl-mock-malformed","object":"chat.completion","choices":[{"index":0,"message":{"role":"assistant","content":"tok0';
/** Truncated embeddings list, for the same faults on `/embeddings`. */
export const PARTIAL_EMBEDDINGS_JSON =
  '{"object":"list","data":[{"object":"embedding","index":0,"embedding":[0.5';
/** `malformed: "sse"`: a first data event that is not JSON, then `[DONE]`. */
export const MALFORMED_SSE =
  'data: {"id":"chatcmpl-mock-malformed","object":"chat.completion.chunk","choices":[{"index":0,"delta":{"content":"tok0"\n\ndata: [DONE]\n\n';

const CHUNKED_JSON = { "content-type": "application/json" };
const EMPTY_JSON = { "content-type": "application/json", "content-length": 0 };

/**
 * Answers with a fault outcome. `streaming` is true for a chat request with
 * `"stream": true`: resets after headers and empty bodies then use SSE headers.
 */
export function sendFault(
  req: IncomingMessage,
  res: ServerResponse,
  route: FaultRoute,
  streaming: boolean,
  outcome: FaultOutcome,
): void {
  if (res.headersSent || res.destroyed) return;
  const partial = route === "chat" ? PARTIAL_CHAT_JSON : PARTIAL_EMBEDDINGS_JSON;
  switch (outcome.kind) {
    case "status":
      res.writeHead(outcome.status, outcome.headers);
      res.end(outcome.body);
      return;
    case "reset":
      if (outcome.when === "before-headers") {
        req.socket.destroy();
      } else if (streaming) {
        res.writeHead(200, SSE_HEADERS);
        res.flushHeaders();
        // An empty socket write calls back once the headers before it are flushed.
        res.socket?.write("", () => res.socket?.destroy());
      } else {
        res.writeHead(200, CHUNKED_JSON);
        res.write(partial, () => res.socket?.destroy());
      }
      return;
    case "malformed":
      if (outcome.what === "sse") {
        res.writeHead(200, SSE_HEADERS);
        res.end(MALFORMED_SSE);
      } else if (outcome.what === "json") {
        sendJson(res, 200, partial);
      } else {
        res.writeHead(200, streaming ? SSE_HEADERS : EMPTY_JSON);
        res.end();
      }
      return;
  }
}
