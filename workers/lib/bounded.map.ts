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
