-- Ordered fallback chain of a route:
-- [{"targets": [{"credentialId", "upstreamModel", "weight"}], "triggers": ["rate_limited", ...]}]
ALTER TABLE routes ADD COLUMN fallbacks jsonb NOT NULL DEFAULT '[]';
