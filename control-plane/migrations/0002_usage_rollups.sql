-- Minute rollups of usage, written in the same transaction as the events they
-- summarise, so analytics never scan raw events.

CREATE TABLE usage_rollup_minute (
  org_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  credential_id text NOT NULL,
  api_key_id text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  duration_ms_sum double precision NOT NULL,
  PRIMARY KEY (org_id, minute, provider, model, credential_id, api_key_id)
);

-- Latency histogram per minute: bucket i counts requests whose duration is in
-- [bound[i-1], bound[i]) of control-plane/src/analytics/buckets.ts.
CREATE TABLE usage_latency_minute (
  org_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  bucket smallint NOT NULL,
  requests bigint NOT NULL,
  PRIMARY KEY (org_id, minute, provider, model, bucket)
);
