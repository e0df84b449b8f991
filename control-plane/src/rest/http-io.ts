import type http from "node:http";
import type http2 from "node:http2";
import { Readable } from "node:stream";

export type NodeRequest = http.IncomingMessage | http2.Http2ServerRequest;
export type NodeResponse = http.ServerResponse | http2.Http2ServerResponse;
/** A Node request listener, such as the one connectNodeAdapter returns. */
export type NodeHandler = (req: NodeRequest, res: NodeResponse) => void;

/** An error the transcoder answers itself, before the RPC runs. */
export class RestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Writes a Connect-style JSON error: `{"code": "...", "message": "..."}`. */
export function sendError(res: NodeResponse, err: RestError): void {
  if (res.headersSent) {
    res.destroy?.();
    return;
  }
  const body = JSON.stringify({ code: err.code, message: err.message });
  (res as http.ServerResponse).writeHead(err.status, {
    ...err.headers,
    "content-type": "application/json",
    "content-length": String(Buffer.byteLength(body)),
  });
  res.end(body);
}

const JSON_TYPE = /^application\/(?:[\w.+-]+\+)?json\s*(?:;|$)/i;

/** Reads the request body as JSON (undefined when empty), refusing other media types and large bodies. */
export async function readJsonBody(req: NodeRequest, maxBytes: number): Promise<unknown> {
  const encoding = req.headers["content-encoding"];
  if (encoding !== undefined && encoding !== "identity") {
    throw new RestError(415, "invalid_argument", `unsupported content-encoding "${encoding}"`);
  }
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > maxBytes) {
      throw new RestError(413, "resource_exhausted", `request body is larger than ${maxBytes} bytes`);
    }
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString("utf8");
  if (text.trim() === "") return undefined;
  const type = req.headers["content-type"];
  if (type !== undefined && !JSON_TYPE.test(type)) {
    throw new RestError(415, "invalid_argument", `content-type must be application/json, not "${type}"`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new RestError(400, "invalid_argument", `request body is not valid JSON: ${(err as Error).message}`);
  }
}

/** Request headers that describe the REST exchange itself and must not reach the Connect request. */
const HOP_HEADERS = new Set([
  "host",
  "content-type",
  "content-length",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "expect",
  "http2-settings",
]);

/**
 * Hands a transcoded call to the Connect handler as a Connect unary JSON
 * request to `rpcPath`, in-process: interceptors (authentication) and context
 * values run exactly as for a native Connect call, and the Connect response
 * (JSON message, or `{code, message}` with the mapped HTTP status) is written
 * to `res` unchanged. Client headers pass through, authorization included;
 * the body and the Connect protocol headers are replaced.
 */
export function forwardToConnect(
  connect: NodeHandler,
  req: NodeRequest,
  res: NodeResponse,
  rpcPath: string,
  payload: string,
): void {
  const headers: http.IncomingHttpHeaders = {};
  for (const [name, value] of Object.entries(req.headers)) {
    if (name.startsWith(":") || HOP_HEADERS.has(name)) continue;
    if (name.startsWith("connect-") || name.startsWith("grpc-")) continue;
    headers[name] = value;
  }
  const body = Buffer.from(payload, "utf8");
  const authority = "authority" in req ? req.authority : req.headers.host;
  headers.host = authority || "localhost";
  headers["content-type"] = "application/json";
  headers["content-length"] = String(body.length);
  headers["connect-protocol-version"] = "1";
  // connect-node reads method, url, headers, httpVersion, socket.encrypted and
  // the body (async iteration); it watches `res` for the client going away.
  const socket: unknown = req.socket;
  const encrypted =
    typeof socket === "object" && socket !== null && "encrypted" in socket && socket.encrypted === true;
  const forwarded = Object.assign(Readable.from([body]), {
    method: "POST",
    url: rpcPath,
    headers,
    httpVersion: req.httpVersion,
    socket: { encrypted },
  });
  connect(forwarded as unknown as http.IncomingMessage, res);
}
