import type { ConnectRouter } from "@connectrpc/connect";
import { Health } from "../../proto/gen/grpc/health/v1/health_pb.js";
import { AnalyticsService } from "../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { ApiKeyService } from "../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { AuditService } from "../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { BillingService } from "../../proto/gen/llmgateway/v1/billing_service_pb.js";
import { CredentialService } from "../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { FleetService } from "../../proto/gen/llmgateway/v1/fleet_service_pb.js";
import { MembershipService } from "../../proto/gen/llmgateway/v1/membership_service_pb.js";
import { MetricsTokenService } from "../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { OrganizationService } from "../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { PolicyService } from "../../proto/gen/llmgateway/v1/policy_service_pb.js";
import { PricingService } from "../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { ProviderService } from "../../proto/gen/llmgateway/v1/provider_service_pb.js";
import { RouteService } from "../../proto/gen/llmgateway/v1/route_service_pb.js";
import { WorkerService } from "../../proto/gen/llmgateway/v1/worker_service_pb.js";
import { registerHealth } from "./grpc/health.js";
import { registerReflection } from "./grpc/reflection.js";
import { createAnalyticsService } from "./services/analytics.js";
import { createApiKeyService } from "./services/api-keys.js";
import { createAuditService } from "./services/audit.js";
import { createBillingService } from "./services/billing.js";
import { createCredentialService } from "./services/credentials.js";
import { createFleetService } from "./services/fleet.js";
import { createIngestUsageWire, INGEST_USAGE_WIRE } from "./services/ingest-usage.js";
import { createMembershipService } from "./services/memberships.js";
import { createMetricsTokenService } from "./services/metrics-tokens.js";
import { createOrganizationService } from "./services/organizations.js";
import { createPolicyService } from "./services/policies.js";
import { createPricingService } from "./services/pricing.js";
import { createProviderService } from "./services/providers.js";
import { createRouteService } from "./services/routes.js";
import { createWorkerService, type WorkerServiceDeps } from "./services/worker-service.js";

/** The management services (API keys and sessions); WorkerService is for workers only. */
export const MANAGEMENT_SERVICES = [
  OrganizationService,
  ApiKeyService,
  CredentialService,
  RouteService,
  AuditService,
  AnalyticsService,
  ProviderService,
  MetricsTokenService,
  PolicyService,
  PricingService,
  MembershipService,
  FleetService,
  BillingService,
] as const;

/** Every service the control plane serves, wired to its dependencies. */
export function registerRoutes(deps: WorkerServiceDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.service(OrganizationService, createOrganizationService(deps));
    router.service(ApiKeyService, createApiKeyService(deps));
    router.service(CredentialService, createCredentialService(deps));
    router.service(RouteService, createRouteService(deps));
    router.service(AuditService, createAuditService(deps));
    router.service(AnalyticsService, createAnalyticsService(deps));
    router.service(ProviderService, createProviderService());
    router.service(MetricsTokenService, createMetricsTokenService(deps));
    router.service(PolicyService, createPolicyService(deps));
    router.service(PricingService, createPricingService(deps));
    router.service(MembershipService, createMembershipService(deps, deps.oidcIssuer));
    router.service(FleetService, createFleetService(deps));
    router.service(BillingService, createBillingService(deps));
    router.service(WorkerService, createWorkerService(deps));
    const services = [...MANAGEMENT_SERVICES, WorkerService];
    registerReflection(router, [...services, Health]);
    registerHealth(
      router,
      services.map((svc) => svc.typeName),
      async () => (await deps.db.query("SELECT 1")).rowCount === 1,
    );
  };
}

/**
 * The second router, for binary IngestUsage calls only (isBinaryIngestUsage):
 * IngestUsage read as IngestUsageRequestWire, the events decoded by hand.
 */
export function registerIngestUsageWire(deps: WorkerServiceDeps): (router: ConnectRouter) => void {
  return (router) => {
    router.rpc(INGEST_USAGE_WIRE, createIngestUsageWire(deps));
  };
}
