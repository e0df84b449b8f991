-- FinOps (issue 6): organization price overrides reach workers; billing
-- integrations and actual provider costs.

-- Price overrides get an id, so the routing-table change log can name them.
ALTER TABLE price_overrides ADD COLUMN id uuid NOT NULL DEFAULT gen_random_uuid();
CREATE UNIQUE INDEX price_overrides_id ON price_overrides (id);

-- A provider billing API the control plane pulls daily costs from, with the
-- provider's admin key sealed like credential secrets (AES-256-GCM envelope,
-- associated data "<org_id>:<id>"). One per organization and provider.
CREATE TABLE billing_integrations (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  provider text NOT NULL CHECK (provider IN ('openai', 'anthropic')),
  base_url text NOT NULL,
  admin_key_envelope bytea NOT NULL,
  admin_key_fingerprint text NOT NULL,
  admin_key_last4 text NOT NULL,
  last_sync_at timestamptz,
  -- 'ok' or 'error'; '' before the first sync.
  last_sync_status text NOT NULL DEFAULT '',
  last_sync_error text NOT NULL DEFAULT '',
  created_at timestamptz NOT NULL DEFAULT now(),
  updated_at timestamptz NOT NULL DEFAULT now(),
  UNIQUE (org_id, provider)
);

-- Actual (billed) cost per day, USD. credential_id NULL: spend the report does
-- not attribute to a credential (no foreign key: a deleted credential's
-- history stays). One row per (org, provider, credential, day, source): a
-- re-sync or re-import replaces the amount.
CREATE TABLE actual_costs (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  provider text NOT NULL,
  credential_id uuid,
  day date NOT NULL,
  amount_usd numeric NOT NULL,
  currency text NOT NULL DEFAULT 'USD',
  source text NOT NULL CHECK (source IN ('openai-costs', 'anthropic-cost-report', 'csv')),
  imported_at timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX actual_costs_key ON actual_costs
  (org_id, provider, coalesce(credential_id, '00000000-0000-0000-0000-000000000000'::uuid), day, source);
CREATE INDEX actual_costs_org_day ON actual_costs (org_id, day);

-- Month totals of actual_costs (the current month to date and the previous
-- month) as published to workers in the routing table (ActualCostEntry);
-- rebuilt after each sync and import.
CREATE TABLE actual_cost_totals (
  id uuid PRIMARY KEY,
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  provider text NOT NULL,
  credential_id uuid,
  period text NOT NULL,
  amount_usd double precision NOT NULL
);
CREATE UNIQUE INDEX actual_cost_totals_key ON actual_cost_totals
  (org_id, provider, coalesce(credential_id, '00000000-0000-0000-0000-000000000000'::uuid), period);
