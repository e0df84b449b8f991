-- Governance policies: one organization default (api_key_id NULL) and per-key overrides.
-- policy holds the llmgateway.v1.Policy message as protobuf JSON.
CREATE TABLE policies (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  api_key_id uuid REFERENCES api_keys (id) ON DELETE CASCADE,
  policy jsonb NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX policies_scope ON policies (org_id, coalesce(api_key_id, '00000000-0000-0000-0000-000000000000'::uuid));
