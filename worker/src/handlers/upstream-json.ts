import { ErrorClass } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import type { ProviderAdapter, UpstreamRequest } from "../providers/types.js";
import type { AttemptResult } from "../routing/engine.js";
import { gatewayFailure } from "../routing/failures.js";
import type { CredentialRecord } from "../table/routing-table.js";
import { callUpstreamBuffered } from "../upstream/call.js";
import type { Pools } from "../upstream/pools.js";

/**
 * Calls the provider with each request (in parallel) and reads every reply
 * whole: the non-streaming half of an attempt. Any failure is the attempt's;
 * a status other than 200 on success is a malformed reply.
 */
export async function callForJson(
  pools: Pools,
  credential: CredentialRecord,
  adapter: ProviderAdapter,
  requests: readonly UpstreamRequest[],
  signal: AbortSignal,
  headersTimeoutMs: number,
): Promise<AttemptResult<Buffer[]>> {
  const provider = credential.provider.id;
  const one = async (request: UpstreamRequest): Promise<AttemptResult<Buffer>> => {
    const call = await callUpstreamBuffered(pools, credential, adapter, request, signal, headersTimeoutMs);
    if (!call.ok) return call;
    const { response } = call;
    if (response.statusCode !== 200) {
      return {
        ok: false,
        failure: gatewayFailure(
          ErrorClass.MALFORMED_RESPONSE,
          "upstream_malformed_response",
          `provider ${provider} answered HTTP ${response.statusCode}`,
          response.statusCode,
        ),
      };
    }
    return { ok: true, value: response.body };
  };
  const results = await Promise.all(requests.map(one));
  const bodies: Buffer[] = [];
  for (const r of results) {
    if (!r.ok) return r;
    bodies.push(r.value);
  }
  return { ok: true, value: bodies };
}

/** The failure of a reply the adapter could not read. */
export function unreadable(provider: string): { ok: false; failure: ReturnType<typeof gatewayFailure> } {
  return {
    ok: false,
    failure: gatewayFailure(
      ErrorClass.MALFORMED_RESPONSE,
      "upstream_malformed_response",
      `provider ${provider} sent a reply the gateway could not read`,
      200,
    ),
  };
}
