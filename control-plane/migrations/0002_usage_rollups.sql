-- Rollups of usage, written in the same statement as the events they
-- summarise, so analytics never scan raw events. Each table is keyed as
-- coarsely as its queries allow, to stay small at millions of events.

-- Overview, time series and provider/model breakdowns.
CREATE TABLE usage_rollup_minute (
  org_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  provider text NOT NULL,
  model text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  duration_ms_sum double precision NOT NULL,
  PRIMARY KEY (org_id, minute, provider, model)
);

-- Latency histogram per minute: bucket i counts requests whose duration is in
-- [bound[i-1], bound[i]) of control-plane/src/analytics/buckets.ts.
CREATE TABLE usage_latency_minute (
  org_id uuid NOT NULL,
  minute timestamptz NOT NULL,
  bucket smallint NOT NULL,
  requests bigint NOT NULL,
  PRIMARY KEY (org_id, minute, bucket)
);

-- Breakdowns by high-cardinality dimensions ('credential', 'api_key', 'user'): whole
-- hours come from the hourly table, the partial hours at a range's edges from
-- the minute table.
CREATE TABLE usage_rollup_minute_by (
  org_id uuid NOT NULL,
  dimension text NOT NULL,
  minute timestamptz NOT NULL,
  value text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  duration_ms_sum double precision NOT NULL,
  PRIMARY KEY (org_id, dimension, minute, value)
);

CREATE TABLE usage_rollup_hour_by (
  org_id uuid NOT NULL,
  dimension text NOT NULL,
  hour timestamptz NOT NULL,
  value text NOT NULL,
  requests bigint NOT NULL,
  errors bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  duration_ms_sum double precision NOT NULL,
  PRIMARY KEY (org_id, dimension, hour, value)
);
