/** One day of a provider's cost report, summed over the report's line items. */
export interface DailyCost {
  /** "YYYY-MM-DD" (UTC). */
  day: string;
  /** USD as an exact decimal string (stored as numeric). */
  amountUsd: string;
}

/** What a billing client needs: the integration's endpoint, its admin key and the days to fetch. */
export interface ReportRequest {
  baseUrl: string;
  adminKey: string;
  /** First day, inclusive, "YYYY-MM-DD". */
  start: string;
  /** Day after the last, exclusive, "YYYY-MM-DD". */
  end: string;
  fetch?: typeof fetch;
}

/** A sync that failed: the message names the HTTP status and the provider's own message, never the key. */
export class BillingSyncError extends Error {
  override readonly name = "BillingSyncError";
}

const TIMEOUT_MS = 30_000;
/** A report longer than this many pages is refused rather than followed forever. */
export const MAX_PAGES = 100;

/** Adds decimal strings exactly (amounts have at most a few decimals; scaled to 1e-9 USD). */
export function addDecimal(a: string, b: string): string {
  const scale = 9;
  const toUnits = (s: string) => {
    const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(s);
    if (!m) throw new BillingSyncError(`not a decimal amount: ${JSON.stringify(s.slice(0, 40))}`);
    const frac = (m[3] ?? "").slice(0, scale).padEnd(scale, "0");
    const units = BigInt(`${m[2]}${frac}`);
    return m[1] ? -units : units;
  };
  const sum = toUnits(a) + toUnits(b);
  const neg = sum < 0n;
  const digits = (neg ? -sum : sum).toString().padStart(scale + 1, "0");
  const whole = digits.slice(0, -scale);
  const frac = digits.slice(-scale).replace(/0+$/, "");
  return `${neg ? "-" : ""}${whole}${frac ? `.${frac}` : ""}`;
}

/** A decimal string of cents as a decimal string of dollars ("123.45" -> "1.2345"), exactly. */
export function centsToDollars(cents: string): string {
  const m = /^(-?)(\d+)(?:\.(\d+))?$/.exec(cents.trim());
  if (!m) throw new BillingSyncError(`not a decimal amount: ${JSON.stringify(cents.slice(0, 40))}`);
  const whole = (m[2] ?? "0").padStart(3, "0");
  const frac = `${whole.slice(-2)}${m[3] ?? ""}`.replace(/0+$/, "");
  const dollars = whole.slice(0, -2).replace(/^0+(?=\d)/, "");
  return `${m[1] && (dollars !== "0" || frac) ? "-" : ""}${dollars}${frac ? `.${frac}` : ""}`;
}

/**
 * GETs a JSON report page. Non-2xx answers become a BillingSyncError with the
 * status and the provider's error message (the admin key is redacted from it).
 */
export async function getJson(
  url: URL,
  headers: Record<string, string>,
  adminKey: string,
  fetchImpl: typeof fetch = fetch,
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetchImpl(url, {
      headers: { accept: "application/json", ...headers },
      signal: AbortSignal.timeout(TIMEOUT_MS),
    });
  } catch (err) {
    throw new BillingSyncError(`${url.origin}${url.pathname} unreachable: ${(err as Error).message}`);
  }
  const text = await res.text();
  if (!res.ok) {
    let detail = text;
    try {
      const body = JSON.parse(text) as { error?: { message?: unknown } | string };
      const e = body.error;
      detail = typeof e === "string" ? e : typeof e?.message === "string" ? e.message : text;
    } catch {
      // not JSON: keep the text
    }
    const clean = detail.split(adminKey).join("[redacted]").replace(/\s+/g, " ").slice(0, 300);
    throw new BillingSyncError(`HTTP ${res.status} from ${url.origin}${url.pathname}: ${clean}`);
  }
  try {
    return JSON.parse(text);
  } catch {
    throw new BillingSyncError(`${url.origin}${url.pathname} answered with a body that is not JSON`);
  }
}

/** Joins a base URL and a path without doubling or dropping the slash. */
export function endpoint(baseUrl: string, path: string): URL {
  return new URL(`${baseUrl.replace(/\/+$/, "")}${path}`);
}

/** One page of a provider's daily cost report, as both OpenAI's and Anthropic's APIs page them. */
export interface CostPage<B> {
  data?: B[];
  has_more?: boolean;
  next_page?: string | null;
}

/**
 * Follows a cost report's pages (at most MAX_PAGES) and sums each day's USD
 * amounts exactly: `fetchPage` gets the page token (undefined first),
 * `amounts` turns one bucket into its day and decimal-string USD amounts
 * (throwing BillingSyncError on what it cannot read). Days come back sorted.
 */
export async function collectDailyCosts<B>(
  report: string,
  fetchPage: (page: string | undefined) => Promise<CostPage<B> | undefined>,
  amounts: (bucket: B) => { day: string; usd: string[] },
): Promise<DailyCost[]> {
  const byDay = new Map<string, string>();
  let page: string | undefined;
  for (let n = 0; ; n++) {
    if (n >= MAX_PAGES) throw new BillingSyncError(`${report} longer than ${MAX_PAGES} pages`);
    const body = await fetchPage(page);
    if (!body || !Array.isArray(body.data)) throw new BillingSyncError(`${report} without data[]`);
    for (const bucket of body.data) {
      const { day, usd } = amounts(bucket);
      byDay.set(day, usd.reduce(addDecimal, byDay.get(day) ?? "0"));
    }
    if (!body.has_more || !body.next_page) break;
    page = body.next_page;
  }
  return [...byDay]
    .map(([day, amountUsd]) => ({ day, amountUsd }))
    .sort((a, b) => a.day.localeCompare(b.day));
}
