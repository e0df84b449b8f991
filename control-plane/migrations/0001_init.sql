-- Initial schema. Every tenant-owned row carries org_id.

CREATE TABLE organizations (
  id uuid PRIMARY KEY,
  slug text NOT NULL UNIQUE,
  display_name text NOT NULL,
  disabled boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE api_keys (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  name text NOT NULL,
  prefix text NOT NULL,
  key_hash bytea NOT NULL UNIQUE,
  role text NOT NULL,
  platform_admin boolean NOT NULL DEFAULT false,
  user_id uuid,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz,
  last_used_at timestamptz
);
CREATE INDEX api_keys_org ON api_keys (org_id);

CREATE TABLE credentials (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  provider text NOT NULL,
  name text NOT NULL,
  -- AES-256-GCM envelope (see control-plane/src/crypto/envelope.ts).
  secret_envelope bytea NOT NULL,
  secret_fingerprint text NOT NULL,
  secret_last4 text NOT NULL,
  settings jsonb NOT NULL DEFAULT '{}',
  models text[] NOT NULL DEFAULT '{}',
  weight integer NOT NULL DEFAULT 1 CHECK (weight >= 0),
  enabled boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  secret_rotated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, name)
);

CREATE TABLE routes (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  model text NOT NULL,
  -- [{"credentialId": uuid, "upstreamModel": text, "weight": int}]
  targets jsonb NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, model)
);

-- The routing-table version. One row; every configuration change increments it
-- in its own transaction, so versions commit in order (the row lock serializes
-- writers) and a watcher never sees version N+1 before N.
CREATE TABLE config_state (
  singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
  version bigint NOT NULL
);
INSERT INTO config_state (version) VALUES (0);

-- Which entities changed at which version; deltas are built from it.
CREATE TABLE config_changes (
  version bigint NOT NULL,
  kind text NOT NULL,
  entity_id uuid NOT NULL,
  PRIMARY KEY (version, kind, entity_id)
);

-- Append-only audit log, hash-chained per organization.
CREATE TABLE audit_log (
  id bigserial PRIMARY KEY,
  org_id uuid,
  seq bigint NOT NULL,
  occurred_at timestamptz NOT NULL DEFAULT now(),
  actor text NOT NULL,
  action text NOT NULL,
  resource_type text NOT NULL,
  resource_id text NOT NULL,
  before jsonb,
  after jsonb,
  reason text NOT NULL,
  prev_hash bytea,
  hash bytea NOT NULL
);
CREATE UNIQUE INDEX audit_log_chain ON audit_log (coalesce(org_id, '00000000-0000-0000-0000-000000000000'::uuid), seq);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_log is append-only';
END;
$$;
CREATE TRIGGER audit_log_no_update BEFORE UPDATE OR DELETE ON audit_log
  FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- One row per gateway request; request_id is the idempotency key.
CREATE TABLE usage_events (
  request_id text PRIMARY KEY,
  org_id uuid NOT NULL,
  api_key_id uuid,
  user_id text NOT NULL DEFAULT '',
  provider text NOT NULL DEFAULT '',
  credential_id uuid,
  requested_model text NOT NULL DEFAULT '',
  served_model text NOT NULL DEFAULT '',
  request_type text NOT NULL DEFAULT '',
  streamed boolean NOT NULL DEFAULT false,
  status_code integer NOT NULL,
  error_code text NOT NULL DEFAULT '',
  prompt_tokens bigint NOT NULL DEFAULT 0,
  completion_tokens bigint NOT NULL DEFAULT 0,
  cached_tokens bigint NOT NULL DEFAULT 0,
  reasoning_tokens bigint NOT NULL DEFAULT 0,
  started_at timestamptz NOT NULL,
  duration_ms double precision NOT NULL DEFAULT 0,
  provider_duration_ms double precision NOT NULL DEFAULT 0,
  time_to_first_token_ms double precision NOT NULL DEFAULT 0,
  attempts integer NOT NULL DEFAULT 0,
  routing_version bigint NOT NULL DEFAULT 0,
  worker_id text NOT NULL DEFAULT '',
  ingested_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX usage_events_org_time ON usage_events (org_id, started_at);
