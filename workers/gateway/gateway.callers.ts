/**
 * Step 1 and 2 of a gateway call for an `ig_` key: who is calling, and which of their
 * organization's connections the slug names. The lookup is always scoped to the caller's
 * organization: another organization's slug is indistinguishable from one that does not exist.
 *
 * One per-isolate cache serves every question about a key — the core's authentication and the
 * Igris-style LLM route's check before it reads a body (isUsableApiKey) — and a key is hashed once
 * per call (HashedKey travels from the route through the core, and across a `stale` retry).
 */
import {
  KEY_COLUMNS,
  KEY_FROM,
  type KeyLookupRow,
  keyRowRefusal,
  principalFromKeyRow,
} from '../auth/api-key.auth';
import { hashApiKey } from '../auth/api-key.crypto';
import { cacheMaxAgeMs, isCurrent, learnEpoch } from '../config/config.epoch';
import { boundedSet, WeightedMap } from '../lib/bounded.map';
import { RESOLVED_CACHE_BYTES, RESOLVED_CACHE_LIMIT, rememberConnection } from './connection.caches';
import {
  type CallerAndConnection,
  CONNECTION_COLUMNS,
  type JoinedConnectionColumns,
  joinedConnection,
  type ResolvedConnection,
} from './gateway.connection';

/** An `ig_` key as the caller sent it, with its SHA-256 hash (the key is looked up by hash only). */
export interface HashedKey {
  key: string;
  hash: string;
}

/** `key` hashed, or `known` when it is the same key already hashed earlier in this call. */
export async function hashedKey(key: string, known?: HashedKey | null): Promise<HashedKey> {
  if (known && known.key === key) return known;
  return { key, hash: await hashApiKey(key) };
}

// One D1 round trip for both steps. The connection is joined on the key's own organization, so a
// slug of another tenant can't be reached (it reads as "not found"), exactly as two queries would.
// The organization's configuration epoch comes in the same snapshot (workers/config/config.epoch.ts).
// With them, the connection's latest policy version: a policy read from KV after a change must be
// at least that new (KV is eventually consistent at the edge; policy.store.ts falls back to D1).
const CALLER_AND_CONNECTION_SQL = `SELECT ${KEY_COLUMNS}, ${CONNECTION_COLUMNS}, o.config_epoch AS org_epoch,
  (SELECT max(p.version) FROM policies p WHERE p.connection_id = c.id) AS policy_version
  FROM ${KEY_FROM} JOIN organizations o ON o.id = k.org_id
  LEFT JOIN connections c ON c.org_id = k.org_id AND c.slug = ?
  WHERE k.hash = ?`;

/** The key alone, with its organization's epoch (a route that does not know the slug yet). */
const CALLER_SQL = `SELECT ${KEY_COLUMNS}, o.config_epoch AS org_epoch
  FROM ${KEY_FROM} JOIN organizations o ON o.id = k.org_id WHERE k.hash = ?`;

type CallerRow = KeyLookupRow & { org_epoch: number };
type JoinedRow = CallerRow & JoinedConnectionColumns & { policy_version: number | null };

/** When an entry was read, and as of which configuration epoch of its organization. */
interface Stamp {
  epoch: number;
  loadedAt: number;
}

/** A usable key kept in the isolate (its row: role, creator, last use). */
interface CallerEntry extends Stamp {
  row: KeyLookupRow;
}
/** A connection a usable key resolved to, stamped on its own: one read long ago does not ride a fresher key. */
interface ResolvedEntry extends Stamp {
  connection: ResolvedConnection;
}
const callers = new Map<string, CallerEntry>();
const CACHE_LIMIT = 10_000;
/**
 * Keyed by key hash and slug; bounded on its own, so keys × slugs never outgrows its count, and
 * by bytes: one tenant's keys × slugs can make 10,000 heavy connections (connection.caches.ts).
 */
const resolved = new WeightedMap<string, ResolvedEntry>(RESOLVED_CACHE_LIMIT, RESOLVED_CACHE_BYTES);

function resolvedKey(hash: string, slug: string): string {
  return `${hash}\u0000${slug}`;
}

/** Keeps a usable key's row. */
function rememberCaller(hash: string, row: KeyLookupRow, epoch: number): CallerEntry {
  const entry: CallerEntry = { row, epoch, loadedAt: Date.now() };
  boundedSet(callers, hash, entry, CACHE_LIMIT);
  return entry;
}

/**
 * Authenticates the key and resolves the slug in its organization. The key is judged first: a bad
 * key is 401 whatever the slug, and only an authenticated caller learns whether a slug exists.
 *
 * In the steady state this is memory only: a usable key and the connections it resolved are kept
 * in the isolate and used while their organization's configuration epoch is current
 * (workers/config/config.epoch.ts: any management change — a key revoked, a member removed, a
 * connection disabled — makes them stale everywhere before the API answers). Unknown keys, unknown
 * slugs and disabled connections are never kept, so they are always answered from D1.
 */
export async function authenticateAndResolve(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  key: HashedKey,
  slug: string,
): Promise<CallerAndConnection & { configEpoch: number }> {
  const maxAge = cacheMaxAgeMs(env);
  const hit = callers.get(key.hash);
  const known = hit ? resolved.get(resolvedKey(key.hash, slug)) : undefined;
  if (hit && known && isCurrent(hit.row.org_id, hit, maxAge) && isCurrent(hit.row.org_id, known, maxAge)) {
    const auth = principalFromKeyRow(env.DB, hit.row);
    // The touch is issued at most once a minute per key: remember it was.
    if (auth.touch) hit.row.last_used_at = Date.now();
    return { auth, connection: known.connection, configEpoch: Math.min(hit.epoch, known.epoch) };
  }
  const row = await env.DB.prepare(CALLER_AND_CONNECTION_SQL).bind(slug, key.hash).first<JoinedRow>();
  if (row) learnEpoch(row.org_id, row.org_epoch);
  const auth = principalFromKeyRow(env.DB, row);
  const connection = row ? joinedConnection(row) : null;
  if (connection) connection.policyVersion = row?.policy_version ?? null;
  if (row && maxAge > 0) {
    if (auth.touch) row.last_used_at = Date.now();
    const entry = rememberCaller(key.hash, row, row.org_epoch);
    if (connection?.enabled) {
      const stamp = { connection, epoch: row.org_epoch, loadedAt: entry.loadedAt };
      rememberConnection(resolved, resolvedKey(key.hash, slug), stamp, connection);
    }
  }
  return { auth, connection, configEpoch: row?.org_epoch ?? 0 };
}

/**
 * Whether an `ig_` key is usable (known, not revoked, its creator still a member), for a route that
 * must judge the key before it can read the slug (the Igris-style LLM route reads it from the
 * body): an outsider's made-up key is refused before the body is read or parsed. Not the
 * authority — authenticateAndResolve judges the key again with the connection — but it reads the
 * same cache under the same epoch rule, so the steady state reads no D1 here and a revoked key is
 * refused here as soon as the core would refuse it. A refused key is never remembered.
 */
export async function isUsableApiKey(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  key: HashedKey,
): Promise<boolean> {
  const maxAge = cacheMaxAgeMs(env);
  const hit = callers.get(key.hash);
  if (hit && isCurrent(hit.row.org_id, hit, maxAge)) return true;
  const row = await env.DB.prepare(CALLER_SQL).bind(key.hash).first<CallerRow>();
  if (keyRowRefusal(row) || !row) return false;
  learnEpoch(row.org_id, row.org_epoch);
  if (maxAge > 0) rememberCaller(key.hash, row, row.org_epoch);
  return true;
}
