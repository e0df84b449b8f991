/**
 * Entities looked up by a derived key (a key hash, a policy scope...) but
 * updated and removed by id, as routing-table deltas name them.
 */
export interface KeyedIndex<V> {
  put(id: string, key: string, value: V): void;
  remove(id: string): void;
  get(key: string): V | undefined;
  clear(): void;
  readonly size: number;
}

export function createKeyedIndex<V>(): KeyedIndex<V> {
  const byKey = new Map<string, V>();
  const keyById = new Map<string, string>();
  const remove = (id: string) => {
    const key = keyById.get(id);
    if (key !== undefined) byKey.delete(key);
    keyById.delete(id);
  };
  return {
    put(id, key, value) {
      remove(id);
      byKey.set(key, value);
      keyById.set(id, key);
    },
    remove,
    get: (key) => byKey.get(key),
    clear() {
      byKey.clear();
      keyById.clear();
    },
    get size() {
      return byKey.size;
    },
  };
}
