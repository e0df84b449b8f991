import { create } from "@bufbuild/protobuf";
import { type Timestamp, timestampFromDate } from "@bufbuild/protobuf/wkt";
import {
  ErrorClass,
  type ProviderSettings,
  ProviderSettingsSchema,
} from "../../../proto/gen/llmgateway/v1/common_pb.js";
import {
  type FallbackStep,
  FallbackStepSchema,
  type RouteTarget,
  RouteTargetSchema,
} from "../../../proto/gen/llmgateway/v1/routing_table_pb.js";

/** Route targets as stored in routes.targets (jsonb). */
export interface StoredTarget {
  credentialId: string;
  upstreamModel: string;
  weight: number;
}

/** Provider settings as stored in credentials.settings (jsonb). */
export interface StoredSettings {
  baseUrl?: string;
  apiVersion?: string;
  region?: string;
  project?: string;
  organization?: string;
  deployments?: Record<string, string>;
}

export function settingsToJson(s: ProviderSettings | undefined): StoredSettings {
  if (!s) return {};
  const out: StoredSettings = {};
  if (s.baseUrl) out.baseUrl = s.baseUrl;
  if (s.apiVersion) out.apiVersion = s.apiVersion;
  if (s.region) out.region = s.region;
  if (s.project) out.project = s.project;
  if (s.organization) out.organization = s.organization;
  if (Object.keys(s.deployments).length > 0) out.deployments = { ...s.deployments };
  return out;
}

export function settingsFromJson(s: StoredSettings): ProviderSettings {
  return create(ProviderSettingsSchema, {
    baseUrl: s.baseUrl ?? "",
    apiVersion: s.apiVersion ?? "",
    region: s.region ?? "",
    project: s.project ?? "",
    organization: s.organization ?? "",
    deployments: s.deployments ?? {},
  });
}

export function targetsToProto(targets: readonly StoredTarget[]): RouteTarget[] {
  return targets.map((t) =>
    create(RouteTargetSchema, {
      credentialId: t.credentialId,
      upstreamModel: t.upstreamModel,
      weight: t.weight,
    }),
  );
}

/** A fallback step as stored in routes.fallbacks (jsonb); triggers by lower-case class name. */
export interface StoredFallback {
  targets: StoredTarget[];
  triggers: string[];
}

/** "rate_limited" ↔ ErrorClass.RATE_LIMITED */
export function errorClassToDb(c: ErrorClass): string {
  return ErrorClass[c].toLowerCase();
}

export function errorClassFromDb(name: string): ErrorClass {
  const value = (ErrorClass as unknown as Record<string, number>)[name.toUpperCase()];
  return value === undefined ? ErrorClass.UNSPECIFIED : (value as ErrorClass);
}

export function fallbacksToProto(steps: readonly StoredFallback[]): FallbackStep[] {
  return steps.map((s) =>
    create(FallbackStepSchema, {
      targets: targetsToProto(s.targets),
      triggers: s.triggers.map(errorClassFromDb),
    }),
  );
}

export function ts(d: Date | null | undefined): Timestamp | undefined {
  return d ? timestampFromDate(d) : undefined;
}

/** Spreads an optional timestamp field so exactOptionalPropertyTypes holds. */
export function optTs<K extends string>(key: K, d: Date | null | undefined): { [P in K]?: Timestamp } {
  return (d ? { [key]: timestampFromDate(d) } : {}) as { [P in K]?: Timestamp };
}
