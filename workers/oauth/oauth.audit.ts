/**
 * The OAuth trail (issue 18: "every grant, refresh and revocation is audited"): type `auth` rows in
 * the organization the person chose at consent, actor `user:<id>`, details naming the client,
 * connection and grant — never a token. Grants are written by the consent step
 * (oauth.authorize.ts), refreshes by the library's token-exchange callback (oauth.server.ts),
 * revocations by the token route (RFC 7009, oauth.routes.ts) and the admin API (oauth.admin.ts).
 */
import { authAuditStatement, authAuditStatementIf } from '../audit/audit.admin';
import { log } from '../lib/log';
import { isRecord } from '../lib/values';
import { looksLikeOAuthToken } from './oauth.resource';

export type OAuthAuditAction =
  | 'auth.oauth_grant'
  | 'auth.oauth_refresh'
  | 'auth.oauth_refresh_reuse'
  | 'auth.oauth_revoke'
  | 'auth.oauth_upstream_link'
  | 'auth.oauth_upstream_unlink';

export interface OAuthAuditEvent {
  action: OAuthAuditAction;
  orgId: string;
  userId: string;
  details: Record<string, unknown>;
}

async function emailOf(db: D1Database, userId: string): Promise<string | null> {
  const row = await db
    .prepare('SELECT email FROM users WHERE id = ?')
    .bind(userId)
    .first<{ email: string }>();
  return row?.email.toLowerCase() ?? null;
}

/** Writes one OAuth audit row (the person's email looked up, so the trail is searchable by `user`). */
export async function auditOAuth(db: D1Database, event: OAuthAuditEvent): Promise<void> {
  await (await oauthAuditStatement(db, event)).run();
}

/** The same row as a statement to batch with the change it records (the email looked up now). */
export async function oauthAuditStatement(
  db: D1Database,
  event: OAuthAuditEvent,
): Promise<D1PreparedStatement> {
  return authAuditStatement(db, {
    action: event.action,
    orgId: event.orgId,
    userId: event.userId,
    email: await emailOf(db, event.userId),
    details: event.details,
  });
}

/**
 * The same row as a statement to batch with the change it records, written only when the guard
 * given to the returned builder holds (the person's email is looked up now, outside the batch).
 */
export async function oauthAuditIf(
  db: D1Database,
  event: OAuthAuditEvent,
): Promise<(guard: { sql: string; binds: unknown[] }) => D1PreparedStatement> {
  const email = await emailOf(db, event.userId);
  const row = {
    action: event.action,
    orgId: event.orgId,
    userId: event.userId,
    email,
    details: event.details,
  };
  return (guard) => authAuditStatementIf(db, row, guard);
}

/** Like auditOAuth, for paths where the OAuth answer must not depend on the audit write. */
export async function auditOAuthQuietly(db: D1Database, event: OAuthAuditEvent): Promise<void> {
  try {
    await auditOAuth(db, event);
  } catch (err) {
    log('error', 'oauth audit row not written', { err, action: event.action });
  }
}

/** The parts of the library's grant record (`grant:<userId>:<grantId>`, its storage schema) we read. */
export interface StoredGrant {
  id: string;
  userId: string;
  clientId: string | null;
  resource: string | null;
  orgId: string | null;
  connectionId: string | null;
  /** The library's ids (SHA-256) of the grant's current and previous refresh tokens. */
  refreshTokenId: string | null;
  previousRefreshTokenId: string | null;
}

/** The grant a token-endpoint request is about (its code, refresh token, or token being revoked). */
export async function grantOfTokenRequest(env: Env, form: URLSearchParams): Promise<StoredGrant | null> {
  const credential = form.get('code') ?? form.get('refresh_token') ?? form.get('token');
  if (!credential || !looksLikeOAuthToken(credential)) return null;
  const [userId = '', grantId = ''] = credential.split(':');
  return readGrant(env, userId, grantId);
}

export async function readGrant(env: Env, userId: string, grantId: string): Promise<StoredGrant | null> {
  const grant = await env.OAUTH_KV.get<Record<string, unknown>>(`grant:${userId}:${grantId}`, 'json');
  if (!isRecord(grant)) return null;
  const metadata = isRecord(grant.metadata) ? grant.metadata : {};
  const text = (v: unknown) => (typeof v === 'string' ? v : null);
  return {
    id: grantId,
    userId,
    clientId: text(grant.clientId),
    resource: text(grant.resource),
    orgId: text(metadata.orgId),
    connectionId: text(metadata.connectionId),
    refreshTokenId: text(grant.refreshTokenId),
    previousRefreshTokenId: text(grant.previousRefreshTokenId),
  };
}
