import type { StreamTranslator, Usage } from "../types.js";
import { usageFrom } from "./response.js";

const USAGE_MARK = Buffer.from('"usage"');

/**
 * OpenAI SSE passes through byte for byte. The translator only looks for the
 * usage object, which arrives in one of the last events; chunks without the
 * marker are not parsed.
 */
export function chatStream(): StreamTranslator {
  let usage: Usage | undefined;
  let tail = "";
  return {
    transform(chunk) {
      if (chunk.includes(USAGE_MARK) || tail) {
        const text = tail + chunk.toString("utf8");
        const events = text.split("\n\n");
        tail = events.pop() ?? "";
        for (const event of events) {
          const data = event.startsWith("data: ") ? event.slice(6) : "";
          if (!data.includes('"usage"')) continue;
          try {
            const u = usageFrom((JSON.parse(data) as { usage?: unknown }).usage);
            if (u) usage = u;
          } catch {
            // not JSON ([DONE], comments): ignore
          }
        }
        if (tail.length > 1 << 20) tail = ""; // never hold a runaway event
      }
      return chunk;
    },
    usage: () => usage,
  };
}
