import { type PanelSpec, quantile, rateOf, type SectionSpec, sel } from "./dashboard-query.js";

type Query = readonly [expr: string, legend: string];

const panel = (
  type: PanelSpec["type"],
  title: string,
  unit: string,
  description: string,
  queries: readonly Query[],
  width: number,
  extra: Partial<PanelSpec> = {},
): PanelSpec => ({
  type,
  title,
  unit,
  description,
  width,
  queries: queries.map(([expr, legend]) => ({ expr, legend })),
  ...extra,
});
const stat = (title: string, unit: string, description: string, expr: string) =>
  panel("stat", title, unit, description, [[expr, title]], 4);
const series = (title: string, unit: string, description: string, queries: readonly Query[], width = 12) =>
  panel("timeseries", title, unit, description, queries, width);

const REQUESTS = "llm_gateway_requests_total";
const ERRORS = "llm_gateway_errors_total";
const TOKENS = "llm_gateway_tokens_total";
const COST = "llm_gateway_estimated_cost_usd_total";
const GATEWAY = "llm_gateway_request_duration_seconds";
const PROVIDER = "llm_gateway_provider_duration_seconds";
const OVERHEAD = "llm_gateway_gateway_overhead_seconds";
const sumRate = (by: string, series: string, extra = "") =>
  by ? `sum by (${by}) (${rateOf(series, extra)})` : `sum(${rateOf(series, extra)})`;
/** 5xx answers / requests; 0 (not "no data") where requests flowed without errors. */
const errorRatio = (by: string) =>
  `(${sumRate(by, ERRORS, 'status=~"5.."')} or 0 * ${sumRate(by, REQUESTS)})\n/\n${sumRate(by, REQUESTS)}`;
const CIRCUIT_STATES = [
  {
    type: "value",
    options: { "0": { text: "closed", color: "green" }, "1": { text: "half-open", color: "yellow" } },
  },
  { type: "value", options: { "2": { text: "open", color: "red" } } },
];

/** The dashboard's rows and panels: the embedded dashboard's views of the product documents. */
export const DASHBOARD_SECTIONS: readonly SectionSpec[] = [
  {
    title: "Overview",
    panels: [
      stat(
        "Active providers",
        "short",
        "Providers that served requests in the last interval.",
        `count(${sumRate("provider", REQUESTS)} > 0)`,
      ),
      stat("Request rate", "reqps", "Requests per second, all statuses.", sumRate("", REQUESTS)),
      stat("Error rate", "percentunit", "Share of requests answered with a 5xx status.", errorRatio("")),
      stat("P95 latency", "s", "End-to-end request duration, 95th percentile.", quantile(0.95, GATEWAY)),
      stat(
        "Active requests",
        "short",
        "Requests in flight on all workers.",
        `sum(${sel("llm_gateway_active_requests")})`,
      ),
      stat(
        "Estimated spend (range)",
        "currencyUSD",
        "Estimated cost over the selected time range.",
        `sum(increase(${sel(COST)}[$__range]))`,
      ),
    ],
  },
  {
    title: "Requests and errors",
    panels: [
      series("Request rate by provider", "reqps", "Requests per second by provider.", [
        [sumRate("provider", REQUESTS), "{{provider}}"],
      ]),
      series("Requests by status", "reqps", "Requests per second by HTTP status.", [
        [sumRate("status", REQUESTS), "{{status}}"],
      ]),
      series("Error rate by provider and model", "percentunit", "5xx answers / requests.", [
        [errorRatio("provider, model"), "{{provider}} {{model}}"],
      ]),
      series("Errors by class and code", "reqps", "Errors per second by error class and code.", [
        [sumRate("error_class, code", ERRORS), "{{error_class}} {{code}}"],
      ]),
    ],
  },
  {
    title: "Latency",
    panels: [
      series(
        "Gateway vs provider duration",
        "s",
        "End-to-end request duration against time waiting on providers (P50, P95, P99).",
        [0.5, 0.95, 0.99].flatMap((q): Query[] => [
          [quantile(q, GATEWAY), `request P${q * 100}`],
          [quantile(q, PROVIDER), `provider P${q * 100}`],
        ]),
      ),
      series("Gateway overhead by provider", "s", "Time inside the gateway (P95, P99), by provider.", [
        [quantile(0.95, OVERHEAD, ["provider"]), "P95 {{provider}}"],
        [quantile(0.99, OVERHEAD, ["provider"]), "P99 {{provider}}"],
      ]),
      series("P95 latency by provider and model", "s", "End-to-end request duration, P95.", [
        [quantile(0.95, GATEWAY, ["provider", "model"]), "{{provider}} {{model}}"],
      ]),
      series("Time to first token", "s", "Streaming: time to the first token, P95, by model.", [
        [
          quantile(0.95, "llm_gateway_time_to_first_token_seconds", ["provider", "model"]),
          "{{provider}} {{model}}",
        ],
      ]),
    ],
  },
  {
    title: "Provider and model trends",
    panels: [
      series("Requests by model", "reqps", "Requests per second by model.", [
        [sumRate("provider, model", REQUESTS), "{{provider}} {{model}}"],
      ]),
      series("Tokens by model", "short", "Prompt + completion tokens per second by model.", [
        [sumRate("provider, model", TOKENS, 'type=~"prompt|completion"'), "{{provider}} {{model}}"],
      ]),
    ],
  },
  {
    title: "Credentials",
    panels: [
      series("Requests by credential", "reqps", "Requests per second by provider credential.", [
        [sumRate("provider, credential", REQUESTS), "{{provider}} {{credential}}"],
      ]),
      series("Errors by credential", "reqps", "Errors per second by credential and error class.", [
        [sumRate("provider, credential, error_class", ERRORS), "{{credential}} {{error_class}}"],
      ]),
      series("Estimated spend by credential", "currencyUSD", "Estimated USD per hour by credential.", [
        [`${sumRate("provider, credential", COST)} * 3600`, "{{provider}} {{credential}}"],
      ]),
      panel(
        "state-timeline",
        "Circuit state by credential",
        "short",
        "Circuit breaker per credential, worst worker: closed, half-open, open.",
        [
          [
            `max by (provider, credential) (${sel("llm_gateway_circuit_state")})`,
            "{{provider}} {{credential}}",
          ],
        ],
        12,
        { mappings: CIRCUIT_STATES },
      ),
    ],
  },
  {
    title: "Tokens",
    panels: [
      series(
        "Tokens by type",
        "short",
        "Tokens per second: prompt, completion, cached, reasoning.",
        [[sumRate("type", TOKENS), "{{type}}"]],
        8,
      ),
      series(
        "Tokens by organization",
        "short",
        "Prompt + completion tokens per second.",
        [[sumRate("organization", TOKENS, 'type=~"prompt|completion"'), "{{organization}}"]],
        8,
      ),
      series(
        "Top users by tokens",
        "short",
        "The ten users with the most tokens per second.",
        [
          [
            `topk(10, ${sumRate("organization, user", TOKENS, 'type=~"prompt|completion"')})`,
            "{{organization}} {{user}}",
          ],
        ],
        8,
      ),
    ],
  },
  {
    title: "Cost (FinOps)",
    panels: [
      series(
        "Estimated spend by provider and model",
        "currencyUSD",
        "Estimated USD per hour.",
        [[`${sumRate("provider, model", COST)} * 3600`, "{{provider}} {{model}}"]],
        8,
      ),
      panel(
        "bargauge",
        "Estimated cost over the range",
        "currencyUSD",
        "Estimated cost by provider and credential over the selected range: pick the billing period to compare.",
        [[`sum by (provider, credential) (increase(${sel(COST)}[$__range]))`, "{{provider}} {{credential}}"]],
        8,
        { instant: true },
      ),
      panel(
        "bargauge",
        "Actual provider cost",
        "currencyUSD",
        "Provider billing values from billing sync, by credential and billing period.",
        [
          [
            `max by (provider, credential, period) (${sel("llm_gateway_actual_cost_usd")})`,
            "{{provider}} {{credential}} {{period}}",
          ],
        ],
        8,
        { instant: true },
      ),
    ],
  },
  {
    title: "Fallbacks, rate limits and retries",
    panels: [
      series(
        "Fallbacks by model",
        "reqps",
        "Requests moved to a fallback step, by the error class that moved them.",
        [[sumRate("model, error_class", "llm_gateway_fallbacks_total"), "{{model}} {{error_class}}"]],
        8,
      ),
      series(
        "Rate-limit hits",
        "reqps",
        "Requests blocked or delayed by rate limits (provider or gateway).",
        [[sumRate("source, provider", "llm_gateway_rate_limit_hits_total"), "{{source}} {{provider}}"]],
        8,
      ),
      series(
        "Retries and failed attempts",
        "reqps",
        "Provider attempts after a request's first, and failed attempts.",
        [
          [sumRate("error_class", "llm_gateway_retries_total"), "retry {{error_class}}"],
          [sumRate("error_class", "llm_gateway_attempt_failures_total"), "failed {{error_class}}"],
          [sumRate("", "llm_gateway_retry_budget_exhausted_total"), "retry budget exhausted"],
        ],
        8,
      ),
    ],
  },
  {
    title: "Workers",
    panels: [
      series(
        "Active requests",
        "short",
        "Requests in flight by request type.",
        [[`sum by (request_type) (${sel("llm_gateway_active_requests")})`, "{{request_type}}"]],
        6,
      ),
      series(
        "Routing table age",
        "s",
        "Seconds since each worker heard from the control plane (change or heartbeat).",
        [["max by (instance) (llm_gateway_routing_table_age_seconds)", "{{instance}}"]],
        6,
      ),
      series(
        "Routing table version",
        "none",
        "Routing-table version each worker serves: workers of one deployment should agree.",
        [["max by (instance) (llm_gateway_routing_table_version)", "{{instance}}"]],
        6,
      ),
      series(
        "Usage delivery",
        "short",
        "Usage events waiting for the control plane, and dropped per second.",
        [
          ["sum by (instance) (llm_gateway_usage_buffer_events)", "buffered {{instance}}"],
          [
            "sum by (instance) (rate(llm_gateway_usage_events_dropped_total[$__rate_interval]))",
            "dropped/s {{instance}}",
          ],
        ],
        6,
      ),
    ],
  },
];
