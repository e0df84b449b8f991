import {
  BillingSyncError,
  type CostPage,
  collectDailyCosts,
  type DailyCost,
  endpoint,
  getJson,
  type ReportRequest,
} from "./report.js";

/** OpenAI's default Admin API base; the Costs endpoint is {base}/organization/costs. */
export const OPENAI_BILLING_BASE_URL = "https://api.openai.com/v1";

interface CostsBucket {
  start_time?: number;
  results?: Array<{ amount?: { value?: number; currency?: string } }>;
}

const unix = (day: string) => String(Date.parse(`${day}T00:00:00Z`) / 1000);

/** A JSON number as an exact-enough decimal string (nine decimals, trailing zeros dropped). */
function decimal(n: number): string {
  return n.toFixed(9).replace(/\.?0+$/, "");
}

/**
 * The OpenAI Costs API (an Admin API key: `Authorization: Bearer sk-admin-…`):
 * GET {base}/organization/costs?start_time=<unix>&end_time=<unix>&bucket_width=1d&limit=180,
 * following `next_page` (as `page`) while `has_more`. Each bucket is one UTC day;
 * `results[].amount.value` is in `amount.currency` ("usd"). The report is
 * organization-wide: it can be grouped by project or line item but not by API
 * key, so the gateway records it at provider level (no credential).
 */
export function fetchOpenAiCosts(req: ReportRequest): Promise<DailyCost[]> {
  return collectDailyCosts<CostsBucket>(
    "OpenAI costs report",
    (page) => {
      const url = endpoint(req.baseUrl, "/organization/costs");
      url.searchParams.set("start_time", unix(req.start));
      url.searchParams.set("end_time", unix(req.end));
      url.searchParams.set("bucket_width", "1d");
      url.searchParams.set("limit", "180");
      if (page) url.searchParams.set("page", page);
      const headers = { authorization: `Bearer ${req.adminKey}` };
      return getJson(url, headers, req.adminKey, req.fetch) as Promise<CostPage<CostsBucket> | undefined>;
    },
    (bucket) => {
      if (typeof bucket.start_time !== "number")
        throw new BillingSyncError("OpenAI cost bucket without start_time");
      const day = new Date(bucket.start_time * 1000).toISOString().slice(0, 10);
      const usd = (bucket.results ?? []).map((r) => {
        const value = r.amount?.value;
        const currency = (r.amount?.currency ?? "usd").toLowerCase();
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new BillingSyncError(`OpenAI cost result on ${day} without a numeric amount.value`);
        }
        if (currency !== "usd")
          throw new BillingSyncError(`OpenAI cost result on ${day} in ${currency}, not usd`);
        return decimal(value);
      });
      return { day, usd };
    },
  );
}
