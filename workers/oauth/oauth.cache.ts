/**
 * Resolved OAuth callers kept in isolate memory, so a call with an access token makes no OAUTH_KV
 * read and no D1 query in the steady state — as an `ig_` key's call does (gateway.connection.ts).
 *
 * An entry is the outcome of a full check (token, scope, member, connection, OAuth settings, `user`
 * kill switch) for one token on one resource, and is used while all of these hold:
 *   - its organization's configuration epoch is current (workers/config/config.epoch.ts). Every
 *     change that can make a token unusable announces one: revoking a grant or a client under
 *     /api/v1 (the middleware), revoking a token at `/token` (RFC 7009, oauth.routes.ts), removing
 *     or demoting the member, disabling, deleting or re-pointing the connection, changing its OAuth
 *     settings (all /api/v1 or /api/auth), and pulling a `user` kill switch (killswitch.service.ts:
 *     the guard matches a person's switch by email only, the token's check also by user id);
 *   - it is younger than POLICY_CACHE_TTL_MS (the safety net of every isolate cache);
 *   - the token has not expired (an entry never outlives the token's own `exp`).
 * Refusals are never kept, so a token is refused from the source of truth every time.
 *
 * Entries are keyed by SHA-256 of the token (with the resource): the token itself is never a key,
 * never logged. Refresh-token rotation leaves earlier access tokens valid until they expire (the
 * library's behaviour, docs/oauth.md), so it needs no invalidation; revoking the refresh token
 * revokes the grant, which is announced.
 */
import type { Principal } from '../app.types';
import { hashApiKey } from '../auth/api-key.crypto';
import { cacheMaxAgeMs, isCurrent } from '../config/config.epoch';
import { OAUTH_CACHE_BYTES, OAUTH_CACHE_LIMIT, rememberConnection } from '../gateway/connection.caches';
import type { ResolvedConnection } from '../gateway/gateway.connection';
import { WeightedMap } from '../lib/bounded.map';

export interface CachedOAuthCaller {
  principal: Principal;
  connection: ResolvedConnection;
  email: string;
}

interface Entry {
  caller: CachedOAuthCaller;
  /** The organization's epoch read before the token was confirmed still live (see remember). */
  epoch: number;
  loadedAt: number;
  /** The token's own expiry, in ms. */
  expiresAtMs: number;
}

/**
 * Each entry holds a connection (its settings, credential ciphertext and decrypted credential):
 * bounded by bytes as well as count, as the ig_ key cache is (connection.caches.ts).
 */
const entries = new WeightedMap<string, Entry>(OAUTH_CACHE_LIMIT, OAUTH_CACHE_BYTES);

/** The cache key of a token on a resource: a hash, so no token sits in memory as a key. */
export async function oauthCacheKey(token: string, resource: string): Promise<string> {
  return `${await hashApiKey(token)}\u0000${resource}`;
}

/** A usable entry for this key, or null (absent, stale epoch, too old, or the token expired). */
export function cachedOAuthCaller(
  env: Pick<Env, 'POLICY_CACHE_TTL_MS'>,
  key: string,
  now = Date.now(),
): { caller: CachedOAuthCaller; epoch: number } | null {
  const entry = entries.get(key);
  if (!entry) return null;
  const usable =
    now < entry.expiresAtMs && isCurrent(entry.caller.principal.orgId, entry, cacheMaxAgeMs(env), now);
  if (!usable) {
    entries.delete(key);
    return null;
  }
  return { caller: entry.caller, epoch: entry.epoch };
}

/** Whether the isolate caches are on at all (POLICY_CACHE_TTL_MS > 0). */
export function oauthCacheEnabled(env: Pick<Env, 'POLICY_CACHE_TTL_MS'>): boolean {
  return cacheMaxAgeMs(env) > 0;
}

/**
 * Keeps a caller that passed every check. `epoch` must have been read (with the member and
 * connection) *before* the token was last confirmed live in OAUTH_KV: a revocation deletes the
 * token and only then bumps the epoch, so an entry tagged with an epoch read after a revocation
 * committed cannot hold a token read before it.
 */
export function rememberOAuthCaller(
  key: string,
  caller: CachedOAuthCaller,
  epoch: number,
  tokenExpiresAtSeconds: number,
  now = Date.now(),
): void {
  const entry = { caller, epoch, loadedAt: now, expiresAtMs: tokenExpiresAtSeconds * 1000 };
  rememberConnection(entries, key, entry, caller.connection, caller.email.length);
}
