const CANONICAL = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
/**
 * PostgreSQL's uuid input syntax (uuid_in): 32 hex digits in either case, a
 * hyphen allowed after any group of four, the whole optionally in braces.
 */
const ACCEPTED = /^(?:\{(?:[0-9a-f]{4}-?){7}[0-9a-f]{4}\}|(?:[0-9a-f]{4}-?){7}[0-9a-f]{4})$/i;

/**
 * The canonical text form (lower case, 8-4-4-4-12) of a string PostgreSQL
 * accepts as a uuid, i.e. what `value::uuid::text` gives; undefined for a
 * string it would refuse. Values grouped in JS before they reach a uuid
 * column must be canonical, or two spellings of one id would form two groups.
 */
export function canonicalUuid(value: string): string | undefined {
  if (CANONICAL.test(value)) return value;
  if (!ACCEPTED.test(value)) return undefined;
  const hex = value.replace(/[{}-]/g, "").toLowerCase();
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
