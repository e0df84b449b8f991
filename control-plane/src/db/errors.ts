import { Code, ConnectError } from "@connectrpc/connect";

interface PgError {
  code?: string;
  constraint?: string;
}

function isPgError(err: unknown): err is PgError {
  return typeof err === "object" && err !== null && "code" in err && typeof err.code === "string";
}

/**
 * Maps a database error to a Connect error, in one place. SQL text and values
 * never reach the client; the original error stays as `cause` for logs.
 */
export function mapDbError(err: unknown, what: string): ConnectError {
  if (err instanceof ConnectError) return err;
  if (isPgError(err)) {
    switch (err.code) {
      case "23505":
        return new ConnectError(`${what} already exists`, Code.AlreadyExists, undefined, undefined, err);
      case "23503":
        return new ConnectError(
          `${what} refers to something that does not exist`,
          Code.FailedPrecondition,
          undefined,
          undefined,
          err,
        );
      case "23514":
      case "22P02":
        return new ConnectError(
          `${what} has an invalid value`,
          Code.InvalidArgument,
          undefined,
          undefined,
          err,
        );
      case "40001":
      case "40P01":
        return new ConnectError("concurrent change, retry", Code.Aborted, undefined, undefined, err);
    }
  }
  return new ConnectError("internal error", Code.Internal, undefined, undefined, err);
}
