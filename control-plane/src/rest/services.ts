import type { DescService } from "@bufbuild/protobuf";
import { AnalyticsService } from "../../../proto/gen/llmgateway/v1/analytics_service_pb.js";
import { ApiKeyService } from "../../../proto/gen/llmgateway/v1/api_key_service_pb.js";
import { AuditService } from "../../../proto/gen/llmgateway/v1/audit_service_pb.js";
import { CredentialService } from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import { MembershipService } from "../../../proto/gen/llmgateway/v1/membership_service_pb.js";
import { MetricsTokenService } from "../../../proto/gen/llmgateway/v1/metrics_token_service_pb.js";
import { OrganizationService } from "../../../proto/gen/llmgateway/v1/organization_service_pb.js";
import { PolicyService } from "../../../proto/gen/llmgateway/v1/policy_service_pb.js";
import { PricingService } from "../../../proto/gen/llmgateway/v1/pricing_service_pb.js";
import { ProviderService } from "../../../proto/gen/llmgateway/v1/provider_service_pb.js";
import { RouteService } from "../../../proto/gen/llmgateway/v1/route_service_pb.js";

/**
 * Services exposed under /rest/v1/llm-gateway. Their google.api.http
 * annotations define the paths; a service added here without annotations
 * adds nothing, and streaming methods are never exposed.
 */
export const REST_SERVICES: readonly DescService[] = [
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
];
