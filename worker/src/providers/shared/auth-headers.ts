import type { AuthStyle } from "../../../../lib/src/provider-catalog.js";

/** Upstream authentication headers for a credential, by the provider's auth style. */
export function authHeaders(style: AuthStyle, secret: string): Record<string, string> {
  if (!secret) return {};
  switch (style) {
    case "bearer":
      return { authorization: `Bearer ${secret}` };
    case "api-key-header":
      return { "api-key": secret };
    case "none":
      return {};
  }
}
