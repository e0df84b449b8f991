-- usage_events is written once per request and read by nothing in the
-- control plane: analytics read the rollups, ingestion looks events up by
-- request_id only. The (org_id, started_at) index served no query, yet
-- every ingested event paid for it: about 2.6 µs of PostgreSQL CPU and
-- 90 bytes of WAL per event, a tenth of the server's ingestion cost
-- (docs/performance.md, usage ingestion). An ad-hoc or retention query
-- that needs it can create it (CONCURRENTLY) when it exists.
DROP INDEX IF EXISTS usage_events_org_time;
