/**
 * Upstream mode's state (docs/oauth.md#upstream-mode): each member's tokens per connection in
 * `upstream_oauth_tokens`, vault-encrypted and bound to their row; the signed (encrypted) state
 * that carries a link attempt through the upstream's consent; and the call-time lookup that
 * refreshes an expiring token before it is sent. Tokens never leave this module in an answer.
 */
import type { Principal } from '../app.types';
import { type ResolvedConnection, upstreamCredential } from '../gateway/gateway.connection';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import type { UpstreamOAuthSettings } from '../shared/oauth.settings';
import { getVault } from '../vault/vault.crypto';
import { issuerOf } from './oauth.resource';
import { isGrantRefusal, refreshTokens, type UpstreamTokens, upstreamClient } from './upstream.client';

/** A token this close to its expiry is refreshed before the call rather than sent. */
const REFRESH_MARGIN_MS = 60_000;
/** How long a member has to finish the upstream's consent. */
const LINK_STATE_TTL_MS = 10 * 60_000;

export const UPSTREAM_CALLBACK_PATH = '/api/oauth/upstream/callback';
export const UPSTREAM_CONNECT_PATH = '/api/oauth/upstream/connect';

export function connectUrl(issuer: string, connectionId: string): string {
  return `${issuer}${UPSTREAM_CONNECT_PATH}/${encodeURIComponent(connectionId)}`;
}

function tokenAad(orgId: string, connectionId: string, userId: string): string {
  return `upstream-oauth:${orgId}:${connectionId}:${userId}`;
}

const STATE_AAD = 'upstream-oauth-state';

export interface LinkState {
  orgId: string;
  connectionId: string;
  userId: string;
  verifier: string;
  expiresAt: number;
}

/** The `state` of a link attempt: the attempt itself, encrypted, so nothing is stored until it ends. */
export async function sealLinkState(env: Env, state: Omit<LinkState, 'expiresAt'>): Promise<string> {
  const full: LinkState = { ...state, expiresAt: Date.now() + LINK_STATE_TTL_MS };
  return (await getVault(env)).encrypt(JSON.stringify(full), STATE_AAD);
}

/** The attempt a callback's `state` names; null when it is forged, garbled or expired. */
export async function openLinkState(env: Env, sealed: string): Promise<LinkState | null> {
  try {
    const state = JSON.parse(await (await getVault(env)).decrypt(sealed, STATE_AAD)) as LinkState;
    return state.expiresAt > Date.now() ? state : null;
  } catch {
    return null;
  }
}

interface TokenRow {
  access_token_ciphertext: string;
  refresh_token_ciphertext: string | null;
  expires_at: number | null;
  scope: string | null;
  updated_at: number;
}

/**
 * Stores a member's upstream tokens (sealed). `audit`, when given (a new link), is written in the
 * same batch — one transaction: the link never exists without its record, nor the record without it.
 */
export async function storeTokens(
  env: Env,
  key: { orgId: string; connectionId: string; userId: string },
  tokens: UpstreamTokens,
  audit?: D1PreparedStatement,
): Promise<void> {
  const vault = await getVault(env);
  const aad = tokenAad(key.orgId, key.connectionId, key.userId);
  const access = await vault.encrypt(tokens.accessToken, aad);
  const refresh = tokens.refreshToken ? await vault.encrypt(tokens.refreshToken, aad) : null;
  const upsert = env.DB.prepare(
    `INSERT INTO upstream_oauth_tokens (org_id, connection_id, user_id, access_token_ciphertext,
       refresh_token_ciphertext, expires_at, scope, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
     ON CONFLICT (connection_id, user_id) DO UPDATE SET access_token_ciphertext = excluded.access_token_ciphertext,
       refresh_token_ciphertext = excluded.refresh_token_ciphertext, expires_at = excluded.expires_at,
       scope = excluded.scope, updated_at = excluded.updated_at`,
  ).bind(
    key.orgId,
    key.connectionId,
    key.userId,
    access,
    refresh,
    tokens.expiresAt,
    tokens.scope,
    Date.now(),
  );
  await env.DB.batch(audit ? [upsert, audit] : [upsert]);
}

export async function linkStatus(
  db: D1Database,
  orgId: string,
  connectionId: string,
  userId: string,
): Promise<{ expiresAt: number | null; scope: string | null; updatedAt: number } | null> {
  const row = await readRow(db, orgId, connectionId, userId);
  return row ? { expiresAt: row.expires_at, scope: row.scope, updatedAt: row.updated_at } : null;
}

/**
 * Deletes a member's tokens for a connection; true if there were any. `audit`, when given, is the
 * unlink's record: written first in the same batch, only if there are tokens to delete.
 */
export async function deleteTokens(
  db: D1Database,
  orgId: string,
  connectionId: string,
  userId: string,
  audit?: (guard: { sql: string; binds: unknown[] }) => D1PreparedStatement,
) {
  const where = 'WHERE org_id = ? AND connection_id = ? AND user_id = ?';
  const binds = [orgId, connectionId, userId];
  const results = await db.batch([
    ...(audit ? [audit({ sql: `SELECT 1 FROM upstream_oauth_tokens ${where}`, binds })] : []),
    db.prepare(`DELETE FROM upstream_oauth_tokens ${where}`).bind(...binds),
  ]);
  return (results[results.length - 1]?.meta.changes ?? 0) > 0;
}

function readRow(db: D1Database, orgId: string, connectionId: string, userId: string) {
  return db
    .prepare(
      `SELECT access_token_ciphertext, refresh_token_ciphertext, expires_at, scope, updated_at
       FROM upstream_oauth_tokens WHERE org_id = ? AND connection_id = ? AND user_id = ?`,
    )
    .bind(orgId, connectionId, userId)
    .first<TokenRow>();
}

/** The member has no usable upstream grant: the error says where to link it. */
export function linkRequired(issuer: string, connection: ResolvedConnection, reason: string): AppError {
  const url = connectUrl(issuer, connection.id);
  return new AppError('upstream_auth_required', {
    message: `${reason}: connect your account for "${connection.slug}" at ${url}`,
    details: { connectUrl: url, connection: connection.slug },
  });
}

const fresh = (row: TokenRow, now: number) =>
  row.expires_at === null || row.expires_at - REFRESH_MARGIN_MS > now;

/**
 * The member's access token for this connection, refreshed first when it expires within a
 * minute. Two calls refreshing at once: the one whose refresh the upstream refuses (rotated
 * refresh token) re-reads the row and uses what the other stored.
 */
async function memberToken(
  env: Env,
  issuer: string,
  connection: ResolvedConnection,
  settings: UpstreamOAuthSettings,
  userId: string,
): Promise<string> {
  const vault = await getVault(env);
  const aad = tokenAad(connection.orgId, connection.id, userId);
  const row = await readRow(env.DB, connection.orgId, connection.id, userId);
  if (!row) throw linkRequired(issuer, connection, 'This connection acts with your own upstream account');
  if (fresh(row, Date.now())) return vault.decrypt(row.access_token_ciphertext, aad);
  if (!row.refresh_token_ciphertext) {
    throw linkRequired(issuer, connection, 'Your upstream authorization expired');
  }
  const refreshToken = await vault.decrypt(row.refresh_token_ciphertext, aad);
  try {
    const client = await upstreamClient(env, settings, await upstreamCredential(env, connection));
    const tokens = await refreshTokens(client, refreshToken);
    await storeTokens(env, { orgId: connection.orgId, connectionId: connection.id, userId }, tokens);
    return tokens.accessToken;
  } catch (err) {
    const again = await readRow(env.DB, connection.orgId, connection.id, userId);
    if (again && again.updated_at !== row.updated_at && fresh(again, Date.now())) {
      return vault.decrypt(again.access_token_ciphertext, aad);
    }
    if (isGrantRefusal(err)) {
      await deleteTokens(env.DB, connection.orgId, connection.id, userId);
      throw linkRequired(issuer, connection, 'Your upstream authorization was revoked or expired');
    }
    log('warn', 'upstream oauth refresh failed', { err, connectionId: connection.id });
    throw err instanceof AppError
      ? err
      : new AppError('upstream_unreachable', {
          message: 'The upstream token could not be refreshed',
          internal: err,
        });
  }
}

/**
 * The credential a call sends upstream: the shared one, or — on a connection in upstream mode —
 * the calling member's own token (a system key, which acts for nobody, gets the link error too).
 */
export async function credentialForCall(
  env: Env,
  connection: ResolvedConnection,
  principal: Principal | null,
  /** The request being served, for the link's origin when PUBLIC_BASE_URL is unset. */
  requestUrl = 'http://localhost',
): Promise<string | null> {
  const settings = connection.settings.upstreamOAuth;
  if (!settings) return upstreamCredential(env, connection);
  if (connection.authType !== 'bearer') {
    // The stored credential is the client secret here: it must never go upstream in its place.
    throw new AppError('internal', {
      message: `Connection "${connection.slug}" is misconfigured: upstream OAuth needs authType "bearer"`,
    });
  }
  if (!principal?.userId) {
    throw new AppError('upstream_auth_required', {
      message: `Connection "${connection.slug}" acts with each person's own upstream account: call it with a member's key or OAuth token`,
      details: { connection: connection.slug },
    });
  }
  return memberToken(env, issuerOf(env, requestUrl), connection, settings, principal.userId);
}
