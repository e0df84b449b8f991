-- Estimated cost per request (USD, from the price catalog or the organization's
-- override at ingest) and its sums in the rollups.
ALTER TABLE usage_events ADD COLUMN estimated_cost_usd double precision NOT NULL DEFAULT 0;
ALTER TABLE usage_rollup_minute ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0;
ALTER TABLE usage_rollup_minute_by ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0;
ALTER TABLE usage_rollup_hour_by ADD COLUMN cost_usd double precision NOT NULL DEFAULT 0;
