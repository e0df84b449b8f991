/**
 * PostgreSQL array literals, for passing a batch column by column to
 * `unnest($1::text[], $2::uuid[], …)`: one parameter per column instead of
 * one per value, and a parse far cheaper than JSON's on the server side.
 * The literals are in the text form that array_in reads; they run unchanged
 * on PGlite.
 */

const SPECIAL = /["\\]/;
const SPECIAL_ALL = /["\\]/g;

/**
 * `{"a","b",NULL}`: every element quoted, so empty strings, the word NULL,
 * braces, commas and white space stay data; `"` and `\` are escaped; a JS
 * null is SQL NULL. Also serves uuid[] (the server parses each element).
 */
export function textArray(values: readonly (string | null)[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (v === null || v === undefined) parts[i] = "NULL";
    else parts[i] = `"${SPECIAL.test(v) ? v.replace(SPECIAL_ALL, "\\$&") : v}"`;
  }
  return `{${parts.join(",")}}`;
}

/**
 * `{1,2.5,-3e-7}`: numbers in JS's shortest round-trip form, which float8
 * and (for integers below 1e21) int4/int8 input read back exactly. Callers
 * pass finite numbers only; NaN or Infinity would be stored as such.
 */
export function numberArray(values: readonly number[]): string {
  return `{${values.join(",")}}`;
}

/** `{t,f}`. */
export function boolArray(values: readonly boolean[]): string {
  const parts = new Array<string>(values.length);
  for (let i = 0; i < values.length; i++) parts[i] = values[i] ? "t" : "f";
  return `{${parts.join(",")}}`;
}
