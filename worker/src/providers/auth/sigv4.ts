import type { CredentialRecord } from "../../table/routing-table.js";
import type { UpstreamRequest } from "../types.js";

/** AWS SigV4 (service bedrock) or a Bedrock API key: being built for issue 5. */
export function sigv4Auth(_req: UpstreamRequest, _credential: CredentialRecord): UpstreamRequest {
  throw new Error("SigV4 authentication is not built yet");
}
