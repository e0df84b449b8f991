import type { CredentialRecord } from "../../table/routing-table.js";
import type { UpstreamRequest } from "../types.js";

/** Google service-account OAuth2 (JWT bearer exchange): being built for issue 5. */
export function googleServiceAccountAuth(
  _req: UpstreamRequest,
  _credential: CredentialRecord,
): UpstreamRequest {
  throw new Error("Google service-account authentication is not built yet");
}
