import {
  BillingSyncError,
  type CostPage,
  centsToDollars,
  collectDailyCosts,
  type DailyCost,
  endpoint,
  getJson,
  type ReportRequest,
} from "./report.js";

/** Anthropic's default Admin API base; the report is {base}/v1/organizations/cost_report. */
export const ANTHROPIC_BILLING_BASE_URL = "https://api.anthropic.com";
const ANTHROPIC_VERSION = "2023-06-01";

interface CostBucket {
  starting_at?: string;
  results?: Array<{ amount?: unknown; currency?: unknown }>;
}

const rfc3339 = (day: string) => `${day}T00:00:00Z`;

/**
 * The Anthropic Cost Report (an Admin API key, `sk-ant-admin…`, in `x-api-key`,
 * plus `anthropic-version`): GET {base}/v1/organizations/cost_report?starting_at=<RFC 3339>
 * &ending_at=<RFC 3339>&bucket_width=1d&limit=31, following `next_page` (as `page`)
 * while `has_more`. `data[]` holds one bucket per UTC day; each `results[].amount`
 * is a decimal STRING in the currency's lowest unit — cents for "USD" — per
 * Anthropic's API reference ("123.45" in "USD" is $1.2345), so it is divided
 * by 100, exactly. Priority Tier costs are not in this report (Anthropic's
 * documentation). Workspaces do not map to gateway credentials: provider level.
 */
export function fetchAnthropicCostReport(req: ReportRequest): Promise<DailyCost[]> {
  return collectDailyCosts<CostBucket>(
    "Anthropic cost report",
    (page) => {
      const url = endpoint(req.baseUrl, "/v1/organizations/cost_report");
      url.searchParams.set("starting_at", rfc3339(req.start));
      url.searchParams.set("ending_at", rfc3339(req.end));
      url.searchParams.set("bucket_width", "1d");
      url.searchParams.set("limit", "31");
      if (page) url.searchParams.set("page", page);
      const headers = { "x-api-key": req.adminKey, "anthropic-version": ANTHROPIC_VERSION };
      return getJson(url, headers, req.adminKey, req.fetch) as Promise<CostPage<CostBucket> | undefined>;
    },
    (bucket) => {
      const start = typeof bucket.starting_at === "string" ? Date.parse(bucket.starting_at) : Number.NaN;
      if (Number.isNaN(start))
        throw new BillingSyncError("Anthropic cost bucket without a valid starting_at");
      const day = new Date(start).toISOString().slice(0, 10);
      const usd = (bucket.results ?? []).map((r) => {
        if (typeof r.amount !== "string") {
          throw new BillingSyncError(`Anthropic cost result on ${day} without a decimal-string amount`);
        }
        const currency = typeof r.currency === "string" ? r.currency.toUpperCase() : "USD";
        if (currency !== "USD")
          throw new BillingSyncError(`Anthropic cost result on ${day} in ${currency}, not USD`);
        return centsToDollars(r.amount);
      });
      return { day, usd };
    },
  );
}
