import type { IncomingMessage, ServerResponse } from "node:http";
import type { FaultTable } from "../fault-table.js";
import type { ResolvedOptions } from "../plan.js";
import type { RequestStats } from "../stats.js";

/** One request to a native protocol, its body already read. */
export interface NativeRequest {
  req: IncomingMessage;
  res: ServerResponse;
  /** Path after the protocol's prefix, without the query string (e.g. "/v1/messages"). */
  path: string;
  query: URLSearchParams;
  body: Buffer;
}

/** What a protocol shares with the rest of the mock. */
export interface MockEnv {
  config: ResolvedOptions;
  faults: FaultTable;
  stats: RequestStats;
  /** A per-mock counter for deterministic ids. */
  nextSeq(): number;
}

/**
 * A provider's native API served by the mock under a URL prefix (e.g.
 * "/anthropic"), so one mock can stand in for every provider: a credential's
 * base URL is `<mock origin><prefix>…`. Each protocol checks the provider's
 * own authentication, counts requests in the mock's stats by key and model,
 * applies fault rules (at least status, latency and resets) in the
 * provider's error shape, and answers with `mockReply` rendered in its format.
 */
export interface NativeProtocol {
  readonly prefix: string;
  handle(request: NativeRequest, env: MockEnv): void;
}
