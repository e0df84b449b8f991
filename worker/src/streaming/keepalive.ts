import type { ServerResponse } from "node:http";

const PING = ": ping\n\n";

/** One committed SSE response the keepalive watches. */
export interface KeepaliveHandle {
  /** Records that bytes were written (a whole event). */
  touch(): void;
  remove(): void;
}

export interface Keepalive {
  add(res: ServerResponse): KeepaliveHandle;
  readonly size: number;
  close(): void;
}

/**
 * Writes an SSE comment (`: ping`) to every open stream that has been idle
 * for `intervalMs`, so proxies with idle timeouts (Envoy's route
 * idle_timeout) keep long silent streams open. One timer serves every stream;
 * pings go only between whole events, which is all the relay ever writes. The
 * timer runs from the first stream until `close()` (a tick over no stream is
 * a loop over an empty set), so streams one at a time do not each set one up.
 */
export function createKeepalive(intervalMs: number, now: () => number = Date.now): Keepalive {
  const open = new Set<{ res: ServerResponse; last: number }>();
  let timer: NodeJS.Timeout | undefined;

  const tick = () => {
    const t = now();
    for (const entry of open) {
      if (t - entry.last < intervalMs) continue;
      if (entry.res.destroyed || entry.res.writableEnded) {
        open.delete(entry);
        continue;
      }
      entry.res.write(PING);
      entry.last = t;
    }
  };
  return {
    add(res) {
      const entry = { res, last: now() };
      open.add(entry);
      if (timer === undefined) {
        timer = setInterval(tick, Math.max(50, Math.floor(intervalMs / 4)));
        timer.unref();
      }
      return {
        touch() {
          entry.last = now();
        },
        remove() {
          open.delete(entry);
        },
      };
    },
    get size() {
      return open.size;
    },
    close() {
      open.clear();
      clearInterval(timer);
      timer = undefined;
    },
  };
}

export { PING };
