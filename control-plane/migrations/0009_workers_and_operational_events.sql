-- Routing and reliability engine (issue 4).

-- The worker list: one row per worker, upserted by WorkerService.ReportWorkerStatus
-- (after each applied routing-table change and every 10 s). Rows not seen for
-- 24 hours are deleted on write.
CREATE TABLE workers (
  worker_id text PRIMARY KEY,
  hostname text NOT NULL DEFAULT '',
  build_version text NOT NULL DEFAULT '',
  version bigint NOT NULL DEFAULT 0,
  active_requests bigint NOT NULL DEFAULT 0,
  usage_buffered bigint NOT NULL DEFAULT 0,
  usage_dropped bigint NOT NULL DEFAULT 0,
  draining boolean NOT NULL DEFAULT false,
  -- LLM_GATEWAY_REPLICA_ID of the control-plane replica that took the last report.
  control_plane_replica text NOT NULL DEFAULT '',
  first_seen_at timestamptz NOT NULL DEFAULT now(),
  last_seen_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX workers_last_seen ON workers (last_seen_at);

-- Operational events reported by workers become audit rows; event_id makes a
-- re-sent IngestUsage batch store each event once. NULL for every other row.
-- Not part of the row hash (the chain's canonical form is unchanged).
ALTER TABLE audit_log ADD COLUMN event_id text UNIQUE;

-- Why a request failed (lower-case ErrorClass name, '' on success) and which
-- fallback step served it (0 = the primary targets). Rollups are unchanged.
ALTER TABLE usage_events ADD COLUMN error_class text NOT NULL DEFAULT '';
ALTER TABLE usage_events ADD COLUMN fallback_depth integer NOT NULL DEFAULT 0;
