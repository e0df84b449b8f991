import { Code, ConnectError } from "@connectrpc/connect";
import { findProvider } from "../../../lib/src/provider-catalog.js";

/** One line of an actual-cost CSV, validated. */
export interface CsvCost {
  line: number;
  /** "YYYY-MM-DD". */
  day: string;
  provider: string;
  /** Credential name; "" for provider-level spend. */
  credential: string;
  /** Exact decimal string. */
  amountUsd: string;
  currency: string;
}

export const MAX_CSV_ROWS = 50_000;
const HEADER = ["date", "provider", "credential", "amount_usd"];
const DECIMAL = /^-?\d+(\.\d+)?$/;

const bad = (line: number, what: string) =>
  new ConnectError(`csv line ${line}: ${what}`, Code.InvalidArgument);

/** Splits one CSV line (RFC 4180 quoting: "a,b" and "" inside quotes). */
function fields(text: string, line: number): string[] {
  const out: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cur += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cur += ch;
    } else if (ch === '"' && cur === "") quoted = true;
    else if (ch === ",") {
      out.push(cur.trim());
      cur = "";
    } else cur += ch;
  }
  if (quoted) throw bad(line, "unterminated quoted field");
  out.push(cur.trim());
  return out;
}

export function isDate(s: string): boolean {
  return /^\d{4}-\d{2}-\d{2}$/.test(s) && new Date(`${s}T00:00:00Z`).toISOString().startsWith(s);
}

/**
 * Parses `date,provider,credential,amount_usd[,currency]` lines. A first line
 * naming the columns is skipped; blank lines are ignored. Every error is
 * InvalidArgument naming the 1-based line. Amounts must be USD (the gateway
 * keeps no exchange rates); negative amounts (credits, refunds) are allowed.
 */
export function parseCostCsv(csv: string): CsvCost[] {
  const lines = csv.split(/\r?\n/);
  const out: CsvCost[] = [];
  const seen = new Map<string, number>();
  lines.forEach((raw, i) => {
    const line = i + 1;
    if (!raw.trim()) return;
    const f = fields(raw, line);
    if (out.length === 0 && seen.size === 0 && f[0]?.toLowerCase() === "date") {
      if (HEADER.some((h, j) => f[j]?.toLowerCase() !== h)) {
        throw bad(line, `header must be ${HEADER.join(",")}[,currency]`);
      }
      seen.set("header", line);
      return;
    }
    if (f.length < 4 || f.length > 5)
      throw bad(line, `expected 4 or 5 columns (${HEADER.join(",")}[,currency]), got ${f.length}`);
    const [day = "", provider = "", credential = "", amount = "", currency = "USD"] = f;
    if (!isDate(day)) throw bad(line, `date "${day.slice(0, 40)}" is not a date YYYY-MM-DD`);
    if (!findProvider(provider)) throw bad(line, `provider "${provider.slice(0, 40)}" is not supported`);
    if (credential.length > 200) throw bad(line, "credential name is longer than 200 characters");
    if (!DECIMAL.test(amount)) throw bad(line, `amount_usd "${amount.slice(0, 40)}" is not a decimal number`);
    if ((currency || "USD").toUpperCase() !== "USD") {
      throw bad(line, `currency "${currency.slice(0, 10)}" is not supported: amounts must be in USD`);
    }
    const key = `${day}\u0000${provider}\u0000${credential}`;
    const first = seen.get(key);
    if (first !== undefined) throw bad(line, `same date, provider and credential as line ${first}`);
    seen.set(key, line);
    out.push({ line, day, provider, credential, amountUsd: amount, currency: "USD" });
    if (out.length > MAX_CSV_ROWS) throw bad(line, `more than ${MAX_CSV_ROWS} rows`);
  });
  if (out.length === 0) throw new ConnectError("csv has no cost lines", Code.InvalidArgument);
  return out;
}
