import { Code, ConnectError } from "@connectrpc/connect";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Small input checks shared by the services; each names the bad field. */
export function requireUuid(value: string, field: string): string {
  if (!UUID.test(value)) throw new ConnectError(`${field} must be a UUID`, Code.InvalidArgument);
  return value.toLowerCase();
}

export function requireText(value: string, field: string, max = 200): string {
  const v = value.trim();
  if (!v) throw new ConnectError(`${field} is required`, Code.InvalidArgument);
  if (v.length > max)
    throw new ConnectError(`${field} is longer than ${max} characters`, Code.InvalidArgument);
  return v;
}

export function notFound(what: string): ConnectError {
  return new ConnectError(`${what} not found`, Code.NotFound);
}
