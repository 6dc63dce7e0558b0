/**
 * The configuration epochs this isolate knows, and the per-organization cache every D1-read
 * configuration uses (config.epoch.ts says why and re-exports these). Pure: no I/O, no bindings.
 */
import { boundedSet, WeightedMap } from '../lib/bounded.map';

/** The newest epoch this isolate has seen per organization (from D1 reads and guards' `stale`). */
const known = new Map<string, number>();
const KNOWN_LIMIT = 50_000;

export function knownEpoch(orgId: string): number {
  return known.get(orgId) ?? 0;
}

/** Records an epoch seen for an organization; entries tagged with an older one stop being used. */
export function learnEpoch(orgId: string, epoch: number): void {
  if (epoch <= knownEpoch(orgId)) return;
  boundedSet(known, orgId, epoch, KNOWN_LIMIT);
}

/** A cached entry may be used while it is as new as the newest epoch seen and younger than maxAgeMs. */
export function isCurrent(
  orgId: string,
  entry: { epoch: number; loadedAt: number },
  maxAgeMs: number,
  now = Date.now(),
): boolean {
  return entry.epoch >= knownEpoch(orgId) && now - entry.loadedAt < maxAgeMs;
}

/** The isolate caches' upper bound on age (POLICY_CACHE_TTL_MS; 0 turns caching off). */
export function cacheMaxAgeMs(env: { POLICY_CACHE_TTL_MS?: string }): number {
  return Number.parseInt(env.POLICY_CACHE_TTL_MS ?? '10000', 10) || 0;
}

/** The bytes each organization cache (orgConfigCache) may hold, unless it says otherwise. */
export const ORG_CONFIG_CACHE_BYTES = 2 * 1024 * 1024;
/** What an entry weighs while its read is under way (a promise, a stamp). */
const PENDING_WEIGHT = 256;

/**
 * About the bytes a value read from D1 holds: its JSON (Maps as their entries) at two bytes a
 * character. Run once per read, when it resolves — never on a cache hit.
 */
export function jsonWeight(value: unknown): number {
  const text = JSON.stringify(value, (_key, x: unknown) => (x instanceof Map ? [...x] : x)) ?? '';
  return PENDING_WEIGHT + 2 * text.length;
}

/**
 * One value per organization read from D1 (prices, governance, custom detections…), kept in the
 * isolate while `isCurrent`: tagged with the epoch known when the read began, and younger than
 * POLICY_CACHE_TTL_MS. Concurrent calls share one read; a failed read is not cached (the next call
 * tries again); at most `limit` organizations are kept, and `maxBytes` of values (weighed by
 * jsonWeight once read): the oldest entry goes first. By bytes because nothing bounds how many
 * teams, prompt assignments or detection rules one organization holds, and anyone may create
 * organizations: 10,000 heavy snapshots would outgrow the isolate every organization shares.
 */
export function orgConfigCache<T, Db>(
  read: (db: Db, orgId: string) => Promise<T>,
  { limit = 10_000, maxBytes = ORG_CONFIG_CACHE_BYTES }: { limit?: number; maxBytes?: number } = {},
) {
  type Entry = { loadedAt: number; epoch: number; value: Promise<T> };
  const cache = new WeightedMap<string, Entry>(limit, maxBytes);
  return {
    get(env: { DB: Db; POLICY_CACHE_TTL_MS?: string }, orgId: string): Promise<T> {
      const hit = cache.get(orgId);
      if (hit && isCurrent(orgId, hit, cacheMaxAgeMs(env))) return hit.value;
      const entry: Entry = { loadedAt: Date.now(), epoch: knownEpoch(orgId), value: read(env.DB, orgId) };
      cache.set(orgId, entry, PENDING_WEIGHT);
      entry.value.then(
        (value) => {
          // Weighed once, when read (still the newest entry of its organization: re-set in place).
          if (cache.get(orgId) === entry) cache.set(orgId, entry, jsonWeight(value));
        },
        () => {
          if (cache.get(orgId) === entry) cache.delete(orgId);
        },
      );
      return entry.value;
    },
    /** The bytes the cache holds (its entries' weights). */
    get weight(): number {
      return cache.weight;
    },
    /** This isolate's own change: the next call reads again (others learn it through the epoch). */
    invalidate(orgId: string): void {
      cache.delete(orgId);
    },
  };
}
