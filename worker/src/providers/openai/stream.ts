import type { StreamTranslator, Usage } from "../types.js";
import { usageFrom } from "./response.js";

const EVENT_BOUNDARY = /\r?\n\r?\n/;
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

/**
 * OpenAI SSE passes through byte for byte. The translator follows event
 * boundaries across chunks and parses only the events that carry a usage
 * object (one of the last events of a stream).
 */
export function chatStream(): StreamTranslator {
  let usage: Usage | undefined;
  let pending = "";
  return {
    transform(chunk) {
      const events = (pending + chunk.toString("utf8")).split(EVENT_BOUNDARY);
      pending = events.pop() ?? "";
      if (pending.length > MAX_PENDING) pending = ""; // never hold a runaway event
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
