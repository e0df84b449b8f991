import { create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { findProvider, type ProviderSettingInfo } from "../../../lib/src/provider-catalog.js";
import type { ProviderSettings } from "../../../proto/gen/llmgateway/v1/common_pb.js";
import { type Credential, CredentialSchema } from "../../../proto/gen/llmgateway/v1/credential_service_pb.js";
import type { Queryable } from "../db/pool.js";
import { optTs, type StoredSettings, settingsFromJson, settingsToJson } from "./mappers.js";
import { notFound } from "./validate.js";

export interface CredentialRow {
  id: string;
  org_id: string;
  provider: string;
  name: string;
  secret_fingerprint: string;
  secret_last4: string;
  settings: StoredSettings;
  models: string[];
  weight: number;
  enabled: boolean;
  created_at: Date;
  updated_at: Date;
  secret_rotated_at: Date;
}

export const COLUMNS =
  "id, org_id, provider, name, secret_fingerprint, secret_last4, settings, models, weight, enabled, created_at, updated_at, secret_rotated_at";

export function toProto(r: CredentialRow): Credential {
  return create(CredentialSchema, {
    id: r.id,
    orgId: r.org_id,
    provider: r.provider,
    name: r.name,
    settings: settingsFromJson(r.settings),
    models: r.models,
    weight: r.weight,
    enabled: r.enabled,
    secretFingerprint: r.secret_fingerprint,
    secretLast4: r.secret_last4,
    ...optTs("createdAt", r.created_at),
    ...optTs("updatedAt", r.updated_at),
    ...optTs("secretRotatedAt", r.secret_rotated_at),
  });
}

/** What the audit log keeps of a credential: never the secret, only its fingerprint. */
export const auditView = (r: CredentialRow) => ({
  provider: r.provider,
  name: r.name,
  settings: r.settings,
  models: r.models,
  weight: r.weight,
  enabled: r.enabled,
  secretFingerprint: r.secret_fingerprint,
});

const SETTING_NAMES: Record<keyof StoredSettings, ProviderSettingInfo["name"]> = {
  baseUrl: "base_url",
  organization: "organization",
  apiVersion: "api_version",
  region: "region",
  project: "project",
  deployments: "deployments",
};

export function validateSettings(provider: string, settings: ProviderSettings | undefined): StoredSettings {
  const stored = settingsToJson(settings);
  const info = findProvider(provider);
  if (!info) throw new ConnectError(`unsupported provider "${provider}"`, Code.InvalidArgument);
  const allowed = new Set(info.settings.map((setting) => setting.name));
  for (const key of Object.keys(stored) as Array<keyof StoredSettings>) {
    const name = SETTING_NAMES[key];
    if (!allowed.has(name)) {
      throw new ConnectError(
        `settings.${name} does not apply to provider "${provider}" (it takes: ${[...allowed].join(", ")})`,
        Code.InvalidArgument,
      );
    }
  }
  if (stored.baseUrl !== undefined) {
    let url: URL;
    try {
      url = new URL(stored.baseUrl);
    } catch {
      throw new ConnectError("settings.base_url must be an absolute URL", Code.InvalidArgument);
    }
    if (url.protocol !== "https:" && url.protocol !== "http:") {
      throw new ConnectError("settings.base_url must use http or https", Code.InvalidArgument);
    }
    if (url.username || url.password) {
      throw new ConnectError("settings.base_url must not contain credentials", Code.InvalidArgument);
    }
  } else if (!info.defaultBaseUrl) {
    throw new ConnectError(`provider "${provider}" needs settings.base_url`, Code.InvalidArgument);
  }
  const present = new Set(Object.keys(stored).map((k) => SETTING_NAMES[k as keyof StoredSettings]));
  for (const setting of info.settings) {
    if (setting.required && setting.name !== "base_url" && !present.has(setting.name)) {
      throw new ConnectError(
        `provider "${provider}" needs settings.${setting.name} (${setting.description})`,
        Code.InvalidArgument,
      );
    }
  }
  return stored;
}

export async function loadForUpdate(db: Queryable, orgId: string, id: string): Promise<CredentialRow> {
  const { rows } = await db.query<CredentialRow>(
    `SELECT ${COLUMNS} FROM credentials WHERE id = $1 AND org_id = $2 FOR UPDATE`,
    [id, orgId],
  );
  if (!rows[0]) throw notFound("credential");
  return rows[0];
}
