import { create } from "@bufbuild/protobuf";
import { findProvider, type ProviderInfo } from "../../lib/src/provider-catalog.js";
import { CredentialEntrySchema } from "../../proto/gen/llmgateway/v1/routing_table_pb.js";
import type { CredentialRecord } from "../../worker/src/table/routing-table.js";

/** A credential record of organization "org" as the worker's routing table holds it. */
export function credential(id = "c1"): CredentialRecord {
  return {
    id,
    orgId: "org",
    provider: findProvider("openai") as ProviderInfo,
    entry: create(CredentialEntrySchema, {
      id,
      orgId: "org",
      provider: "openai",
      name: id,
      enabled: true,
      weight: 1,
    }),
    origin: "http://127.0.0.1:1",
    basePath: "/v1",
    models: new Set(),
  };
}
