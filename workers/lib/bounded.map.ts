/**
 * The isolate and object caches are plain Maps kept under a size limit. A Map iterates in
 * insertion order, so its first key is the oldest one written: dropping it is a FIFO eviction in
 * O(1), with no bookkeeping beyond the Map itself. One helper so every cache bounds itself the
 * same way (an LRU is the caller deleting a key on a hit before setting it again).
 */

/**
 * Sets `key` to `value`; when the key is new and the map already holds `limit` entries, the oldest
 * key is dropped first, so the map never grows past `limit`. An existing key is overwritten in
 * place: it keeps its position and nothing is evicted.
 */
export function boundedSet<K, V>(map: Map<K, V>, key: K, value: V, limit: number): Map<K, V> {
  if (map.size >= limit && !map.has(key)) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  return map.set(key, value);
}

/**
 * A cache bounded by its entries' weight (about the bytes they hold) as well as by their number,
 * oldest written first out. For isolate caches whose entries a tenant can make large (a policy of
 * 10,000 rules, a connection's integrity state): an isolate's 128 MB serve every organization, so
 * a count alone is no bound at all. The entry just written is never the one dropped, so one entry
 * heavier than the budget is still kept (alone) — the cache is then one entry, not none.
 */
export class WeightedMap<K, V> {
  readonly #entries = new Map<K, { value: V; weight: number }>();
  readonly #maxEntries: number;
  readonly #maxWeight: number;
  #weight = 0;

  constructor(maxEntries: number, maxWeight: number) {
    this.#maxEntries = maxEntries;
    this.#maxWeight = maxWeight;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The entries' weights summed. */
  get weight(): number {
    return this.#weight;
  }

  get(key: K): V | undefined {
    return this.#entries.get(key)?.value;
  }

  has(key: K): boolean {
    return this.#entries.has(key);
  }

  delete(key: K): boolean {
    const entry = this.#entries.get(key);
    if (!entry) return false;
    this.#weight -= entry.weight;
    return this.#entries.delete(key);
  }

  /** Sets `key` (as the newest entry), then drops the oldest others while a bound is passed. */
  set(key: K, value: V, weight: number): void {
    this.delete(key);
    this.#entries.set(key, { value, weight });
    this.#weight += weight;
    for (const [oldest, entry] of this.#entries) {
      if (this.#entries.size <= this.#maxEntries && this.#weight <= this.#maxWeight) return;
      if (oldest === key) return;
      this.#weight -= entry.weight;
      this.#entries.delete(oldest);
    }
  }

  /** Key and value of every entry, oldest first (an entry may be deleted while iterating). */
  *entries(): IterableIterator<[K, V]> {
    for (const [key, entry] of this.#entries) yield [key, entry.value];
  }

  clear(): void {
    this.#entries.clear();
    this.#weight = 0;
  }
}

/** About the bytes a string holds in the isolate: two a character (a cheap, safe estimate). */
export function stringWeight(text: string | null | undefined): number {
  return text ? text.length * 2 : 0;
}

/** A cache entry kept for a stored text (a policy, an integrity state): the text, and the entry itself. */
export function storedTextWeight(text: string | null | undefined): number {
  return 256 + stringWeight(text);
}
