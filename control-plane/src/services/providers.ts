import type { ServiceImpl } from "@connectrpc/connect";
import { PROVIDERS } from "../../../lib/src/provider-catalog.js";
import type { ProviderService } from "../../../proto/gen/llmgateway/v1/provider_service_pb.js";
import { authorize } from "../auth/authorize.js";
import { requirePrincipal } from "../auth/principal.js";

/** The provider catalog (lib/src/provider-catalog.ts), the same data credentials are validated against. */
export function createProviderService(): ServiceImpl<typeof ProviderService> {
  return {
    listProviders(_req, ctx) {
      const principal = requirePrincipal(ctx);
      // Any membership will do: the catalog is the same for every organization.
      const [orgId] = principal.memberships.keys();
      authorize(principal, "providers.read", orgId);
      return {
        providers: PROVIDERS.map((p) => ({
          id: p.id,
          displayName: p.displayName,
          wireFormat: p.wireFormat,
          defaultBaseUrl: p.defaultBaseUrl,
          authKind: p.authStyle,
          secretOptional: p.secretOptional,
          settings: p.settings.map((s) => ({
            name: s.name,
            required: s.required,
            description: s.description,
          })),
        })),
      };
    },
  };
}
