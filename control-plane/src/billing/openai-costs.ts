import {
  addDecimal,
  BillingSyncError,
  type DailyCost,
  endpoint,
  getJson,
  MAX_PAGES,
  type ReportRequest,
} from "./report.js";

/** OpenAI's default Admin API base; the Costs endpoint is {base}/organization/costs. */
export const OPENAI_BILLING_BASE_URL = "https://api.openai.com/v1";

interface CostsPage {
  data?: Array<{
    start_time?: number;
    results?: Array<{ amount?: { value?: number; currency?: string } }>;
  }>;
  has_more?: boolean;
  next_page?: string | null;
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
export async function fetchOpenAiCosts(req: ReportRequest): Promise<DailyCost[]> {
  const byDay = new Map<string, string>();
  let page: string | undefined;
  for (let n = 0; ; n++) {
    if (n >= MAX_PAGES) throw new BillingSyncError(`OpenAI costs report longer than ${MAX_PAGES} pages`);
    const url = endpoint(req.baseUrl, "/organization/costs");
    url.searchParams.set("start_time", unix(req.start));
    url.searchParams.set("end_time", unix(req.end));
    url.searchParams.set("bucket_width", "1d");
    url.searchParams.set("limit", "180");
    if (page) url.searchParams.set("page", page);
    const body = (await getJson(url, { authorization: `Bearer ${req.adminKey}` }, req.adminKey, req.fetch)) as
      | CostsPage
      | undefined;
    if (!body || !Array.isArray(body.data)) throw new BillingSyncError("OpenAI costs report without data[]");
    for (const bucket of body.data) {
      if (typeof bucket.start_time !== "number")
        throw new BillingSyncError("OpenAI cost bucket without start_time");
      const day = new Date(bucket.start_time * 1000).toISOString().slice(0, 10);
      let total = byDay.get(day) ?? "0";
      for (const r of bucket.results ?? []) {
        const value = r.amount?.value;
        const currency = (r.amount?.currency ?? "usd").toLowerCase();
        if (typeof value !== "number" || !Number.isFinite(value)) {
          throw new BillingSyncError(`OpenAI cost result on ${day} without a numeric amount.value`);
        }
        if (currency !== "usd")
          throw new BillingSyncError(`OpenAI cost result on ${day} in ${currency}, not usd`);
        total = addDecimal(total, decimal(value));
      }
      byDay.set(day, total);
    }
    if (!body.has_more || !body.next_page) break;
    page = body.next_page;
  }
  return [...byDay]
    .map(([day, amountUsd]) => ({ day, amountUsd }))
    .sort((a, b) => a.day.localeCompare(b.day));
}
