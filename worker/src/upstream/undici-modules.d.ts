/**
 * undici's Pool, imported by path: `import { Pool } from "undici"` loads all
 * of undici (fetch, WebSocket, caches, mocks: about 8 MB more memory in every
 * worker process, none of it used here). undici is pinned to an exact version
 * and its package has no `exports` map, so the path is stable for that
 * version (pools.test.ts checks it). Replies are read by the gateway's own
 * dispatch handlers (buffered.ts, streamed.ts), not undici's `request()`.
 */
declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";

  const UndiciPool: typeof Pool;
  export default UndiciPool;
}
