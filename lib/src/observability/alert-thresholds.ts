/**
 * Defaults of the generated alert rules. Change a value here and run
 * `npm run generate:observability`; docs/observability.md explains each one.
 *
 * Two kinds of reference:
 * - **baseline**: the same expression over the same hour of the previous day
 *   (`[1h] offset 1d`), for signals with a daily rhythm (errors, latency,
 *   fallbacks, rate limits, concurrency);
 * - **spike**: a short window against the hour before it
 *   (`[1h] offset <window>`), for consumption (tokens, cost).
 *
 * Every relative threshold has an absolute floor, so a series with no
 * history (a new model, a new tenant) or a near-zero baseline is judged by
 * the floor alone.
 */
export const THRESHOLDS = {
  /** How far back the baseline is taken. */
  baselineOffset: "1d",
  /** Window of the baseline (the same hour yesterday). */
  baselineWindow: "1h",
  /** Below this many requests per second (per alert series) ratio and latency alerts stay quiet. */
  minRequestRate: 0.05,

  /** Errors (5xx answers) / requests: at least this ratio… */
  errorRatioFloor: 0.05,
  /** …and this many times the baseline ratio. */
  errorBaselineFactor: 2,

  /** P95 of llm_gateway_request_duration_seconds above this (seconds): the service target. */
  latencyP95TargetSeconds: 30,
  /** P99 of llm_gateway_request_duration_seconds above this (seconds). */
  latencyP99TargetSeconds: 60,

  /** Mean provider duration this many times the baseline (while gateway overhead did not grow as much). */
  providerSlowdownFactor: 2,
  /** Mean gateway overhead this many times the baseline… */
  overheadFactor: 2,
  /** …and above this many seconds. */
  overheadFloorSeconds: 0.05,

  /** In-flight requests this many times the baseline average… */
  activeRequestsFactor: 3,
  /** …and above this many, for activeRequestsFor. */
  activeRequestsFloor: 20,
  activeRequestsFor: "15m",

  /** Token rate (prompt + completion) this many times the previous hour… */
  tokenSpikeFactor: 3,
  /** …and above this many tokens per second for an organization… */
  tokenSpikeFloorOrganization: 500,
  /** …or for one user. */
  tokenSpikeFloorUser: 100,
  /** Short window of the token and cost spike alerts. */
  spikeWindow: "15m",

  /** Estimated spend rate this many times the previous hour… */
  costSpikeFactor: 3,
  /** …and above this many USD per hour (per organization, provider and model). */
  costSpikeFloorUsdPerHour: 5,

  /** Provider rate-limit hits / requests: at least this ratio and rateLimitBaselineFactor × baseline. */
  providerRateLimitRatioFloor: 0.05,
  /** Gateway rate-limit hits / requests of one user: at least this ratio. */
  gatewayRateLimitRatioFloor: 0.1,
  rateLimitBaselineFactor: 2,

  /** Fallback activations per second (organization, model): this many times the baseline… */
  fallbackFactor: 2,
  /** …and above this rate (per second). */
  fallbackFloorPerSecond: 0.05,

  /** Circuit state averaged over 10 minutes at or above this (1: open or half-open most of the time). */
  circuitOpenAverage: 1,
  /** Seconds without a message from the control plane. */
  routingTableMaxAgeSeconds: 120,
  /** Usage events waiting for delivery (the buffer holds LLM_GATEWAY_USAGE_BUFFER_EVENTS, 100 000). */
  usageBufferMaxEvents: 10_000,
} as const;

/**
 * Where each alert's runbook_url points, relative to the docs folder: the
 * operations runbook (docs/runbook.md) where it has the procedure, else the
 * alert's section of the observability guide.
 */
export const RUNBOOKS = {
  providerOutage: "runbook.md#incident-provider-outage",
  performance: "runbook.md#performance-degradation",
  budget: "runbook.md#budget-exceeded",
  rateLimits: "observability.md#rate-limits",
  controlPlane: "observability.md#control-plane-connectivity",
} as const;

/** A key of RUNBOOKS. */
export type RunbookKey = keyof typeof RUNBOOKS;

/** Prefix of runbook_url by default: the docs folder of this repository, relative to its root. */
export const DEFAULT_DOCS_BASE = "docs";
