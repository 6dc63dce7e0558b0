/**
 * Server-side session records (auth_sessions). The cookie's JWT only names a record; the record
 * decides: a revoked or expired one is refused on the very next request, whatever the token says.
 * Only the SHA-256 of the session's CSRF token is stored.
 */
import type { Role } from '../db/schema';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { newCsrfToken } from './csrf.check';
import { SESSION_MAX_AGE_SECONDS, signSessionToken } from './session.token';

export interface SessionRow {
  id: string;
  user_id: string;
  org_id: string | null;
  csrf_hash: string;
  expires_at: number;
  revoked_at: number | null;
  last_seen_at: number | null;
  /** The user's role in the session's active organization; null when not (or no longer) a member. */
  role: Role | null;
}

export interface NewSession {
  sessionId: string;
  /** The cookie value (a signed JWT). Never logged, never in a response body. */
  token: string;
  /** Returned to the client once so it can send X-CSRF-Token. */
  csrfToken: string;
  expiresAt: number;
  statement: D1PreparedStatement;
}

export interface SessionContext {
  userAgent: string | null;
  ip: string | null;
}

/** Everything needed to open a session; the caller runs `statement` (alone or in its own batch). */
export async function prepareSession(
  env: Pick<Env, 'DB' | 'SESSION_SECRET' | 'SESSION_SECRET_PREVIOUS'>,
  userId: string,
  orgId: string | null,
  context: SessionContext,
): Promise<NewSession> {
  const sessionId = randomId('ses', 24);
  const csrfToken = newCsrfToken();
  const now = Date.now();
  const expiresAt = now + SESSION_MAX_AGE_SECONDS * 1000;
  const token = await signSessionToken(env, { sid: sessionId, sub: userId, csrf: csrfToken });
  const statement = env.DB.prepare(
    `INSERT INTO auth_sessions (id, user_id, org_id, csrf_hash, user_agent, ip, created_at, expires_at, last_seen_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  ).bind(
    sessionId,
    userId,
    orgId,
    await sha256Hex(csrfToken),
    context.userAgent?.slice(0, 300) ?? null,
    context.ip,
    now,
    expiresAt,
    now,
  );
  return { sessionId, token, csrfToken, expiresAt, statement };
}

const LOAD_SQL = `SELECT s.id, s.user_id, s.org_id, s.csrf_hash, s.expires_at, s.revoked_at, s.last_seen_at, m.role
  FROM auth_sessions s LEFT JOIN members m ON m.org_id = s.org_id AND m.user_id = s.user_id
  WHERE s.id = ? AND s.user_id = ?`;

/** The live record behind a token, or null when it is unknown, revoked or past its lifetime. */
export async function loadLiveSession(
  db: D1Database,
  sessionId: string,
  userId: string,
): Promise<SessionRow | null> {
  const row = await db.prepare(LOAD_SQL).bind(sessionId, userId).first<SessionRow>();
  if (!row || row.revoked_at !== null || row.expires_at <= Date.now()) return null;
  return row;
}

export function revokeSessionStatement(db: D1Database, sessionId: string): D1PreparedStatement {
  return db
    .prepare('UPDATE auth_sessions SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL')
    .bind(Date.now(), sessionId);
}

/** Revokes every live session of a user, optionally keeping one (the one making the change). */
export function revokeUserSessionsStatement(
  db: D1Database,
  userId: string,
  exceptSessionId: string | null = null,
): D1PreparedStatement {
  return db
    .prepare(
      'UPDATE auth_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL AND id IS NOT ?',
    )
    .bind(Date.now(), userId, exceptSessionId);
}

export function setActiveOrgStatement(
  db: D1Database,
  sessionId: string,
  orgId: string | null,
): D1PreparedStatement {
  return db.prepare('UPDATE auth_sessions SET org_id = ? WHERE id = ?').bind(orgId, sessionId);
}
