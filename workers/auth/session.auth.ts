/**
 * Cookie sessions on a request: read and verify `igris.session_token`, load its record, renew
 * the token when it is getting old, and turn it into the same Principal an API key produces
 * (kind 'session', role = the user's role in the session's active organization), so the
 * permission matrix judges both identically.
 */
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AppEnv, Principal } from '../app.types';
import type { Role } from '../db/schema';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { unauthorized, WWW_AUTHENTICATE } from './api-key.auth';
import { CSRF_HEADER, checkCsrfToken, checkOrigin, isStateChanging } from './csrf.check';
import { loadLiveSession } from './session.store';
import {
  SESSION_COOKIE,
  signSessionToken,
  TOKEN_RENEW_AFTER_SECONDS,
  TOKEN_TTL_SECONDS,
  verifySessionToken,
} from './session.token';

const COOKIE_PATH = '/api';
const LAST_SEEN_RESOLUTION_MS = 60_000;

export interface AuthSession {
  id: string;
  userId: string;
  /** The active organization, or null when the user has none (or was removed from it). */
  orgId: string | null;
  role: Role | null;
  csrfToken: string;
  csrfHash: string;
  expiresAt: number;
}

function sameSite(env: Env): 'Lax' | 'Strict' | 'None' {
  const value = (env.SESSION_COOKIE_SAMESITE ?? '').trim().toLowerCase();
  if (value === 'strict') return 'Strict';
  if (value === 'none') return 'None';
  return 'Lax';
}

export function setSessionCookie(c: Context<AppEnv>, token: string): void {
  setCookie(c, SESSION_COOKIE, token, {
    httpOnly: true,
    secure: true,
    sameSite: sameSite(c.env),
    path: COOKIE_PATH,
    maxAge: TOKEN_TTL_SECONDS,
  });
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, {
    path: COOKIE_PATH,
    secure: true,
    httpOnly: true,
    sameSite: sameSite(c.env),
  });
}

/** A 401 that also tells the browser to drop the dead cookie. */
function sessionRefused(c: Context<AppEnv>): AppError {
  const cleared = `${SESSION_COOKIE}=; Max-Age=0; Path=${COOKIE_PATH}; HttpOnly; Secure; SameSite=${sameSite(c.env)}`;
  return new AppError('unauthorized', {
    message: 'Session expired or signed out',
    headers: { 'WWW-Authenticate': WWW_AUTHENTICATE, 'Set-Cookie': cleared },
  });
}

/**
 * The request's session, or null when it carries no session cookie. A cookie that is present but
 * forged, expired or revoked is refused (401) rather than ignored.
 */
export async function authenticateSession(c: Context<AppEnv>): Promise<AuthSession | null> {
  const token = getCookie(c, SESSION_COOKIE);
  if (!token) return null;
  const claims = await verifySessionToken(c.env, token);
  if (!claims) throw sessionRefused(c);
  const row = await loadLiveSession(c.env.DB, claims.sid, claims.sub);
  if (!row) throw sessionRefused(c);

  const now = Date.now();
  if (claims.previousKey || now / 1000 - claims.iat > TOKEN_RENEW_AFTER_SECONDS) {
    setSessionCookie(c, await signSessionToken(c.env, { sid: row.id, sub: row.user_id, csrf: claims.csrf }));
  }
  if (row.last_seen_at === null || now - row.last_seen_at > LAST_SEEN_RESOLUTION_MS) {
    const touch = c.env.DB.prepare('UPDATE auth_sessions SET last_seen_at = ? WHERE id = ?')
      .bind(now, row.id)
      .run();
    c.executionCtx.waitUntil(
      touch.catch((err: unknown) =>
        log('warn', 'session last_seen update failed', { err, sessionId: row.id }),
      ),
    );
  }
  return {
    id: row.id,
    userId: row.user_id,
    orgId: row.role ? row.org_id : null,
    role: row.role,
    csrfToken: claims.csrf,
    csrfHash: row.csrf_hash,
    expiresAt: row.expires_at,
  };
}

/** Both CSRF checks (csrf.check.ts) for a state-changing request authenticated by the cookie. */
export async function enforceCsrf(c: Context<AppEnv>, session: AuthSession): Promise<void> {
  if (!isStateChanging(c.req.method)) return;
  checkOrigin(c.env, c.req.url, c.req.header('Origin'), true);
  await checkCsrfToken(c.req.header(CSRF_HEADER), session.csrfHash);
}

/** For /api/auth handlers that need a signed-in person: the session, CSRF-checked when it writes. */
export async function requireSession(c: Context<AppEnv>): Promise<AuthSession> {
  const session = await authenticateSession(c);
  if (!session) throw unauthorized('Sign in first');
  await enforceCsrf(c, session);
  return session;
}

/** The Principal a session acts as: its user, in its active organization, with their role there. */
export function sessionPrincipal(session: AuthSession): Principal {
  if (!session.orgId || !session.role) {
    throw new AppError('forbidden', {
      message: 'No active organization: switch to one of yours with POST /api/auth/organizations/switch',
      details: { rule: 'no-active-organization' },
    });
  }
  return {
    kind: 'session',
    orgId: session.orgId,
    role: session.role,
    userId: session.userId,
    apiKeyId: null,
    sessionId: session.id,
    actor: `user:${session.userId}`,
  };
}

export function clientContext(c: Context<AppEnv>): { userAgent: string | null; ip: string | null } {
  return { userAgent: c.req.header('User-Agent') ?? null, ip: c.req.header('CF-Connecting-IP') ?? null };
}
