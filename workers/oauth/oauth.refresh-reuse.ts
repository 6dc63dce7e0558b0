/**
 * Refresh-token reuse detection (OAuth 2.1 §4.3.1, RFC 9700 §4.14.2; docs/oauth.md#refresh-token-rotation-and-reuse).
 *
 * The library rotates refresh tokens: a grant keeps the current token's id and the previous one's,
 * and accepts either (the previous one for retry tolerance: a client whose answer was lost can ask
 * again). An older token is refused, but nothing more happens, and the previous token is accepted
 * again and again — each use silently retiring the newest one. So a stolen refresh token keeps
 * working for whoever presents it, and nobody learns of the theft.
 *
 * We record every refresh token we issue (its SHA-256, the library's own token id; never the token)
 * and when it was first used, in D1 (strongly consistent). Before the library sees a refresh:
 *   - a token we issued that is neither the grant's current nor its previous one was rotated away:
 *     someone holds a copy → the grant is revoked (every token of it), audited
 *     `auth.oauth_refresh_reuse`, the gateways told, and the answer is `invalid_grant`;
 *   - the previous token is tolerated only within REFRESH_RETRY_GRACE_SECONDS of its first use (a
 *     retry); later it is reuse, as above;
 *   - a token we never issued (forged from an access token's `userId:grantId:` prefix, or issued
 *     before this record existed) is left to the library, which refuses it: revoking on it would
 *     let anyone holding an access token end its grant.
 * The library's own checks (client, expiry, scope) then run unchanged.
 */
import { announceConfigChange } from '../config/config.epoch';
import { sha256Hex } from '../lib/hex';
import { log } from '../lib/log';
import { helpers } from './oauth.admin';
import { auditOAuthQuietly, type StoredGrant } from './oauth.audit';
import { REFRESH_TOKEN_TTL_SECONDS } from './oauth.server';

/** How long after its first use the previous refresh token may be presented again (a lost answer). */
export const REFRESH_RETRY_GRACE_SECONDS = 30;

export type ReuseReason = 'rotated_token_reused' | 'previous_token_after_grace';
export type RefreshVerdict = { kind: 'pass' } | { kind: 'reuse'; reason: ReuseReason };

/** Pure: what a presented refresh token is, given the grant's two token ids and our record of it. */
export function judgeRefresh(input: {
  hash: string;
  current: string | null;
  previous: string | null;
  /**
   * Our record of the token (null when we never issued it): its first use, and whether a newer
   * token of its grant was issued since.
   */
  issued: { usedAt: number | null; newer: boolean } | null;
  now: number;
}): RefreshVerdict {
  if (!input.issued || input.hash === input.current) return { kind: 'pass' };
  if (input.hash === input.previous) {
    const usedAt = input.issued.usedAt ?? input.now;
    return input.now - usedAt <= REFRESH_RETRY_GRACE_SECONDS * 1000
      ? { kind: 'pass' }
      : { kind: 'reuse', reason: 'previous_token_after_grace' };
  }
  // Neither current nor previous in the grant as read here (OAUTH_KV, eventually consistent across
  // locations): rotated away only if our record (D1, consistent) holds a newer token of the grant,
  // so a stale grant never makes the newest token look reused.
  return input.issued.newer ? { kind: 'reuse', reason: 'rotated_token_reused' } : { kind: 'pass' };
}

function oauthError(status: number, error: string, description: string): Response {
  return new Response(JSON.stringify({ error, error_description: description }), {
    status,
    headers: { 'Content-Type': 'application/json', 'Cache-Control': 'no-store', Pragma: 'no-cache' },
  });
}

/**
 * Before a refresh_token grant reaches the library: null to let it through (the token's first use
 * is recorded now), or the answer when the token is a reused one (the grant is then revoked).
 * Fail closed: when our record cannot be read, the refresh is refused (503), not passed unchecked.
 */
export async function refuseReusedRefresh(
  env: Env,
  issuer: string,
  grant: StoredGrant,
  token: string,
): Promise<Response | null> {
  if (!grant.orgId) return null; // a grant of no organization was never recorded
  const hash = await sha256Hex(token);
  const now = Date.now();
  let verdict: RefreshVerdict;
  try {
    // Read the record, marking a first use (a token still current stays current whatever this
    // says), and whether a newer token of the grant was issued (ties count: concurrent refreshes).
    const [marked, later] = await env.DB.batch<{ used_at?: number; newer?: number }>([
      env.DB.prepare(
        `UPDATE oauth_refresh_tokens SET used_at = COALESCE(used_at, ?1)
         WHERE token_hash = ?2 AND user_id = ?3 AND grant_id = ?4 RETURNING used_at`,
      ).bind(now, hash, grant.userId, grant.id),
      env.DB.prepare(
        `SELECT EXISTS (SELECT 1 FROM oauth_refresh_tokens WHERE user_id = ?2 AND grant_id = ?3 AND token_hash != ?1
           AND issued_at >= (SELECT issued_at FROM oauth_refresh_tokens WHERE token_hash = ?1)) AS newer`,
      ).bind(hash, grant.userId, grant.id),
    ]);
    const row = marked?.results[0];
    verdict = judgeRefresh({
      hash,
      current: grant.refreshTokenId,
      previous: grant.previousRefreshTokenId,
      issued: row ? { usedAt: row.used_at ?? null, newer: later?.results[0]?.newer === 1 } : null,
      now,
    });
  } catch (err) {
    log('error', 'refresh token record unreadable; refresh refused', { err, grantId: grant.id });
    return oauthError(503, 'temporarily_unavailable', 'Try again later');
  }
  if (verdict.kind === 'pass') return null;
  await revokeForReuse(env, issuer, grant, verdict.reason);
  return oauthError(400, 'invalid_grant', 'Refresh token reuse detected: the grant is revoked');
}

async function revokeForReuse(env: Env, issuer: string, grant: StoredGrant, reason: ReuseReason) {
  const orgId = grant.orgId!;
  await helpers(env, issuer).revokeGrant(grant.id, grant.userId);
  await env.DB.prepare('DELETE FROM oauth_refresh_tokens WHERE user_id = ? AND grant_id = ?')
    .bind(grant.userId, grant.id)
    .run()
    .catch((err: unknown) => log('warn', 'refresh token records of a revoked grant kept', { err }));
  // Gateways keep resolved OAuth callers in memory (oauth.cache.ts): the grant's access tokens must
  // be refused by the next call everywhere.
  await announceConfigChange(env, orgId).catch((err: unknown) =>
    log('error', 'reuse revocation not announced; gateways drop the token within the cache bound', { err }),
  );
  await auditOAuthQuietly(env.DB, {
    action: 'auth.oauth_refresh_reuse',
    orgId,
    userId: grant.userId,
    details: { reason, clientId: grant.clientId, grantId: grant.id, connectionId: grant.connectionId },
  });
}

/**
 * After the library answered a token request: the refresh token it issued, if any, is recorded so a
 * later copy of it can be recognised. Best effort: a token not recorded is left to the library.
 */
export async function recordIssuedRefresh(env: Env, grant: StoredGrant, response: Response): Promise<void> {
  if (!grant.orgId || !response.ok) return;
  try {
    const body = (await response.clone().json()) as { refresh_token?: unknown };
    if (typeof body.refresh_token !== 'string') return;
    const now = Date.now();
    await env.DB.prepare(
      `INSERT OR IGNORE INTO oauth_refresh_tokens (token_hash, org_id, user_id, grant_id, issued_at, expires_at)
       VALUES (?, ?, ?, ?, ?, ?)`,
    )
      .bind(
        await sha256Hex(body.refresh_token),
        grant.orgId,
        grant.userId,
        grant.id,
        now,
        now + REFRESH_TOKEN_TTL_SECONDS * 1000,
      )
      .run();
  } catch (err) {
    log('error', 'issued refresh token not recorded; its reuse goes undetected', { err, grantId: grant.id });
  }
}
