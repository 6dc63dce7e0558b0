/**
 * Password reset and the base URLs of the links mails carry (auth.service.ts re-exports all of
 * it). A reset token is single use, mailed only to an existing account's address, and stored only
 * as its hash; each step is an `auth` audit row in the same D1 batch as the change it records.
 */
import { authAuditStatement } from '../audit/audit.admin';
import { passwordResetMessage } from '../email/email.messages';
import { createEmailSender } from '../email/email.sender';
import { closeStreamsFor, userOrgIds } from '../events/events.revoke';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { findAccountByEmail, findAccountById } from './auth.accounts';
import { accountKey, clearKey, consumeOrThrow, resetMailKey } from './auth.limiter';
import { dashboardOrigins, randomToken } from './csrf.check';
import { hashPassword } from './password.hash';
import { revokeUserSessionsStatement } from './session.store';

export const RESET_TTL_MINUTES = 60;

type AuthEnv = Env;

/** The base URL of dashboard pages: the dashboard's origin when configured, else the gateway's. */
export function dashboardBaseUrl(
  env: Pick<Env, 'DASHBOARD_ORIGINS' | 'PUBLIC_BASE_URL'>,
  requestUrl: string,
): string {
  const dashboard = dashboardOrigins(env)[0];
  if (dashboard) return dashboard;
  if (env.PUBLIC_BASE_URL) return env.PUBLIC_BASE_URL.replace(/\/+$/, '');
  return new URL(requestUrl).origin;
}

/**
 * The base URL of links in mails (password reset, invitation): the dashboard's origin (first
 * DASHBOARD_ORIGINS entry), else PUBLIC_BASE_URL. Never the request's Host in production: a link
 * built from a Host header the requester chose would carry its single-use token to their site.
 * So production without either refuses to mail (`mail_not_configured`, logged); development and
 * tests, which need no configuration, fall back to the request's origin.
 */
export function mailBaseUrl(
  env: Pick<Env, 'DASHBOARD_ORIGINS' | 'PUBLIC_BASE_URL' | 'ENVIRONMENT'>,
  requestUrl: string,
): string {
  if (dashboardOrigins(env)[0] || env.PUBLIC_BASE_URL || env.ENVIRONMENT !== 'production') {
    return dashboardBaseUrl(env, requestUrl);
  }
  log(
    'error',
    'mail not sent: set PUBLIC_BASE_URL or DASHBOARD_ORIGINS (links never come from the Host header)',
    {
      code: 'mail_not_configured',
    },
  );
  throw new AppError('mail_not_configured', {
    message: 'Email links are not configured: the operator must set PUBLIC_BASE_URL or DASHBOARD_ORIGINS',
  });
}

/**
 * Mails a single-use reset token if the account exists. The answer is the same either way (the
 * caller always says "accepted"), so this cannot be used to find out who has an account.
 */
export async function requestPasswordReset(env: AuthEnv, email: string, baseUrl: string): Promise<void> {
  await consumeOrThrow(env, await resetMailKey(email));
  const user = await findAccountByEmail(env.DB, email);
  if (!user) return;
  const token = randomToken();
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare(
      'INSERT INTO password_resets (id, user_id, token_hash, created_at, expires_at) VALUES (?, ?, ?, ?, ?)',
    ).bind(randomId('pwr'), user.id, await sha256Hex(token), now, now + RESET_TTL_MINUTES * 60_000),
    authAuditStatement(env.DB, {
      action: 'auth.password_reset_request',
      orgId: user.first_org_id,
      userId: user.id,
      email: user.email,
    }),
  ]);
  const link = `${baseUrl}/reset-password?token=${encodeURIComponent(token)}`;
  try {
    await createEmailSender(env).send(passwordResetMessage(user.email, link, token, RESET_TTL_MINUTES));
  } catch (err) {
    // Not surfaced: a different answer for existing accounts would reveal them.
    log('error', 'password reset mail not sent', { err, userId: user.id });
  }
}

function invalidResetToken(): AppError {
  return new AppError('bad_request', {
    message: 'Reset token is invalid, expired or already used',
    details: { location: 'body', path: 'token' },
  });
}

/**
 * Sets a new password with a reset token. The token is consumed atomically (one UPDATE … WHERE
 * used_at IS NULL), so it works exactly once; the address is then proven (verified), every
 * session of the user is signed out and their other reset tokens die.
 */
export async function confirmPasswordReset(env: AuthEnv, token: string, newPassword: string): Promise<void> {
  const tokenHash = await sha256Hex(token);
  const now = Date.now();
  const pending = await env.DB.prepare(
    'SELECT id FROM password_resets WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?',
  )
    .bind(tokenHash, now)
    .first<{ id: string }>();
  if (!pending) throw invalidResetToken(); // checked before hashing: bad tokens cost no PBKDF2
  const hash = await hashPassword(newPassword);
  const consumed = await env.DB.prepare(
    `UPDATE password_resets SET used_at = ? WHERE token_hash = ? AND used_at IS NULL AND expires_at > ?
     RETURNING user_id`,
  )
    .bind(Date.now(), tokenHash, Date.now())
    .first<{ user_id: string }>();
  if (!consumed) throw invalidResetToken();
  const userId = consumed.user_id;
  const user = await findAccountById(env.DB, userId);
  await env.DB.batch([
    env.DB.prepare('UPDATE users SET password_hash = ?, email_verified = 1 WHERE id = ?').bind(hash, userId),
    revokeUserSessionsStatement(env.DB, userId),
    env.DB.prepare('UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL').bind(
      Date.now(),
      userId,
    ),
    authAuditStatement(env.DB, {
      action: 'auth.password_reset',
      orgId: user?.first_org_id ?? null,
      userId,
      email: user?.email ?? null,
    }),
  ]);
  await closeStreamsFor(env, await userOrgIds(env.DB, userId), { kind: 'session', userId });
  if (user) await clearKey(env, await accountKey(user.email));
}
