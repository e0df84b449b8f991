/**
 * Two of undici's own modules, imported by path: `import { Pool } from
 * "undici"` loads all of undici (fetch, WebSocket, caches, mocks: about 8 MB
 * more memory in every worker process, none of it used here). undici is
 * pinned to an exact version and its package has no `exports` map, so these
 * paths are stable for that version; they are the Pool class and the
 * `request` method undici's index puts on every dispatcher.
 */
declare module "undici/lib/dispatcher/pool.js" {
  import type { Pool } from "undici";

  const UndiciPool: typeof Pool;
  export default UndiciPool;
}

declare module "undici/lib/api/api-request.js" {
  import type { Dispatcher } from "undici";

  /** Dispatcher.prototype.request: call it with the pool as `this`. */
  function request(this: Dispatcher, opts: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
