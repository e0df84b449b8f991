import type { DescService } from "@bufbuild/protobuf";
import { MANAGEMENT_SERVICES } from "../routes.js";

/**
 * Services exposed under /rest/v1/llm-gateway: every management service.
 * Their google.api.http annotations define the paths; unannotated and
 * streaming methods are not exposed.
 */
export const REST_SERVICES: readonly DescService[] = MANAGEMENT_SERVICES;
