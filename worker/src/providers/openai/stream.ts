import type { StreamTranslator, Usage } from "../types.js";
import { usageFrom } from "./response.js";

const EVENT_BOUNDARY = /\r?\n\r?\n/;
const MARK = Buffer.from('"usage"');
const LFLF = Buffer.from("\n\n");
const LFCRLF = Buffer.from("\n\r\n");
const LF = 10;
const MAX_PENDING = 1 << 20;

/** The JSON payload of one SSE event: its `data:` lines joined, or "" for comments and empty events. */
function eventData(event: string): string {
  let data = "";
  for (const line of event.split(/\r?\n/)) {
    if (!line.startsWith("data:")) continue;
    const value = line.charCodeAt(5) === 32 ? line.slice(6) : line.slice(5);
    data = data ? `${data}\n${value}` : value;
  }
  return data;
}

/** Bytes from the end of the last complete event ("\n\n", or CRLF framing) in `buf`; 0 when there is none. */
function afterLastBoundary(buf: Buffer): number {
  // The common case: the chunk ends exactly at an event boundary.
  if (buf.length >= 2 && buf[buf.length - 1] === LF && buf[buf.length - 2] === LF) return buf.length;
  const lf = buf.lastIndexOf(LFLF);
  const crlf = buf.lastIndexOf(LFCRLF);
  return Math.max(lf === -1 ? 0 : lf + 2, crlf === -1 ? 0 : crlf + 3);
}

/** Whether buf[0..len) equals MARK[from..from+len). */
function continuesMark(buf: Buffer, from: number, len: number): boolean {
  for (let i = 0; i < len; i++) if (buf[i] !== MARK[from + i]) return false;
  return true;
}

/**
 * Finds the usage marker across chunk edges without copying: `state` is how
 * many bytes of the marker the stream so far ends with. Returns whether the
 * marker is complete (in this chunk or across the edge) and the next state.
 */
function scanMark(state: number, chunk: Buffer): { found: boolean; state: number } {
  if (state > 0) {
    const need = MARK.length - state;
    if (chunk.length >= need) {
      if (continuesMark(chunk, state, need)) return { found: true, state: 0 };
    } else if (continuesMark(chunk, state, chunk.length)) {
      return { found: false, state: state + chunk.length };
    }
  }
  if (chunk.includes(MARK)) return { found: true, state: 0 };
  for (let k = Math.min(MARK.length - 1, chunk.length); k > 0; k--) {
    let suffix = true;
    for (let i = 0; i < k && suffix; i++) suffix = chunk[chunk.length - k + i] === MARK[i];
    if (suffix) return { found: false, state: k };
  }
  return { found: false, state: 0 };
}

/**
 * OpenAI SSE passes through byte for byte. The translator keeps slices of
 * the event in progress (no copies) and decodes and parses only when the
 * usage marker appears, in one of the last events of a stream, so most
 * chunks cost a few byte searches.
 */
export function chatStream(): StreamTranslator {
  let usage: Usage | undefined;
  let pending: Buffer[] = [];
  let pendingBytes = 0;
  let markState = 0;
  /** The event in progress already holds the marker: parse again once it completes. */
  let pendingHasMark = false;
  return {
    transform(chunk) {
      const scan = scanMark(markState, chunk);
      markState = scan.state;
      if (!scan.found && !pendingHasMark) {
        const end = afterLastBoundary(chunk);
        if (end > 0) {
          pending = end < chunk.length ? [chunk.subarray(end)] : [];
          pendingBytes = chunk.length - end;
        } else if (pendingBytes + chunk.length > MAX_PENDING) {
          pending = []; // never hold a runaway event
          pendingBytes = 0;
        } else {
          pending.push(chunk);
          pendingBytes += chunk.length;
        }
        return chunk;
      }
      const events = Buffer.concat([...pending, chunk])
        .toString("utf8")
        .split(EVENT_BOUNDARY);
      const tail = Buffer.from(events.pop() ?? "", "utf8");
      pending = tail.length > 0 && tail.length <= MAX_PENDING ? [tail] : [];
      pendingBytes = pending.length > 0 ? tail.length : 0;
      const tailScan = scanMark(0, tail);
      markState = tailScan.state;
      pendingHasMark = tailScan.found && pending.length > 0;
      for (const event of events) {
        if (!event.includes('"usage"')) continue;
        try {
          const u = usageFrom((JSON.parse(eventData(event)) as { usage?: unknown }).usage);
          if (u) usage = u;
        } catch {
          // not JSON ([DONE], comments): ignore
        }
      }
      return chunk;
    },
    usage: () => usage,
  };
}
