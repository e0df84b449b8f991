/**
 * Streaming through a target: time to first token and the gaps between
 * content chunks of a paced stream (as the client sees them arrive), and
 * many streams held open at once for the memory they cost.
 */
import { setMaxListeners } from "node:events";
import { performance } from "node:perf_hooks";
import type { Pool } from "undici";
import { poolFor } from "./open-loop.js";
import { chatBody, type Target } from "./targets.js";

export interface StreamSample {
  /** request sent → first content delta received */
  ttftMs: number;
  /** between consecutive content deltas */
  gapsMs: number[];
  contentChunks: number;
  error?: string;
}

/** Reads one streamed chat completion; `onFirst` fires at the first content delta. */
export async function streamOnce(
  pool: Pool,
  target: Target,
  signal?: AbortSignal,
  onFirst: () => void = () => {},
): Promise<StreamSample> {
  const start = performance.now();
  const sample: StreamSample = { ttftMs: Number.NaN, gapsMs: [], contentChunks: 0 };
  let last = 0;
  try {
    const res = await pool.request({
      method: "POST",
      path: new URL(target.url).pathname,
      headers: { ...target.headers, "content-type": "application/json", accept: "text/event-stream" },
      body: chatBody(true),
      ...(signal ? { signal } : {}),
    });
    if (res.statusCode !== 200) {
      sample.error = `HTTP ${res.statusCode}: ${(await res.body.text()).slice(0, 300)}`;
      return sample;
    }
    let buffered = "";
    for await (const chunk of res.body) {
      const now = performance.now();
      buffered += (chunk as Buffer).toString("utf8");
      const lines = buffered.split("\n");
      buffered = lines.pop() ?? "";
      for (const line of lines) {
        if (!line.startsWith("data:")) continue;
        const data = line.slice(5).trim();
        if (data === "[DONE]") continue;
        const event = JSON.parse(data) as {
          error?: unknown;
          choices?: Array<{ delta?: { content?: string } }>;
        };
        if (event.error !== undefined) throw new Error(`stream error event: ${JSON.stringify(event.error)}`);
        if (!event.choices?.[0]?.delta?.content) continue;
        if (sample.contentChunks === 0) {
          sample.ttftMs = now - start;
          onFirst();
        } else sample.gapsMs.push(now - last);
        last = now;
        sample.contentChunks++;
      }
    }
  } catch (error) {
    if (!signal?.aborted) sample.error = (error as Error).message.slice(0, 300);
  }
  return sample;
}

/** `concurrency` streams at once; resolves with every sample. */
export async function streamBatch(target: Target, concurrency: number): Promise<StreamSample[]> {
  const pool = poolFor(target, concurrency);
  try {
    return await Promise.all(Array.from({ length: concurrency }, () => streamOnce(pool, target)));
  } finally {
    await pool.destroy();
  }
}

export interface HeldStreams {
  requested: number;
  /** streams that delivered their first content delta before the deadline */
  open: number;
  failed: number;
  firstError?: string;
  /** from the first request to the last stream open */
  openingMs: number;
  /** what `measure` returned with the streams open */
  measured: number | undefined;
}

/**
 * Opens `n` streams (they must be paced to outlast the deadline), waits until
 * all are open or `deadlineMs` passes, calls `measure`, then aborts them all.
 */
export async function holdStreams(
  target: Target,
  n: number,
  deadlineMs: number,
  measure: () => number | undefined,
): Promise<HeldStreams> {
  const pool = poolFor(target, n + 16);
  const abort = new AbortController();
  setMaxListeners(n + 16, abort.signal);
  const start = performance.now();
  let open = 0;
  let lastOpen = start;
  let allOpen: () => void = () => {};
  const allOpened = new Promise<void>((resolve) => {
    allOpen = resolve;
  });
  const onFirst = () => {
    open++;
    lastOpen = performance.now();
    if (open === n) allOpen();
  };
  const streams = Array.from({ length: n }, () => streamOnce(pool, target, abort.signal, onFirst));
  const settled = Promise.all(streams).then(() => allOpen());
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([allOpened, settled, new Promise((r) => (timer = setTimeout(r, deadlineMs)))]);
  clearTimeout(timer);
  const measured = measure();
  abort.abort();
  const samples = await Promise.all(streams);
  await pool.destroy().catch(() => {});
  const errors = samples.filter((s) => s.error !== undefined);
  return {
    requested: n,
    open,
    failed: errors.length,
    ...(errors[0]?.error ? { firstError: errors[0].error } : {}),
    openingMs: Math.round(lastOpen - start),
    measured,
  };
}
