import { Code, ConnectError, type Interceptor } from "@connectrpc/connect";
import type { Logger } from "../../../lib/src/logger.js";

/**
 * Logs what a client only sees as "internal error": the procedure and the
 * underlying cause (a database error, a bug). Client errors (invalid
 * argument, not found, permission) are the caller's and are not logged.
 * Request messages are never logged: they can carry secrets.
 */
export function createErrorLogInterceptor(log: Logger): Interceptor {
  return (next) => async (req) => {
    try {
      return await next(req);
    } catch (err) {
      const connect = err instanceof ConnectError ? err : undefined;
      if (!connect || connect.code === Code.Internal || connect.code === Code.Unknown) {
        const cause = connect ? connect.cause : err;
        log.error(
          { procedure: req.url.slice(req.url.lastIndexOf("/", req.url.lastIndexOf("/") - 1)), err: cause },
          "rpc failed with an internal error",
        );
      }
      throw err;
    }
  };
}
