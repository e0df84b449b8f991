-- Organization price overrides (USD per million tokens); the built-in catalog is code (lib/src/pricing-catalog.ts).
CREATE TABLE price_overrides (
  org_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
  provider text NOT NULL,
  model text NOT NULL,
  input_per_million double precision NOT NULL CHECK (input_per_million >= 0),
  output_per_million double precision NOT NULL CHECK (output_per_million >= 0),
  cached_input_per_million double precision NOT NULL CHECK (cached_input_per_million >= 0),
  effective_from date NOT NULL,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (org_id, provider, model)
);
