-- Bearer tokens for /metrics/ai-gateway: platform-level, hash only.
CREATE TABLE metrics_tokens (
  id uuid PRIMARY KEY,
  name text NOT NULL,
  prefix text NOT NULL,
  token_hash bytea NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now(),
  expires_at timestamptz,
  revoked_at timestamptz
);
