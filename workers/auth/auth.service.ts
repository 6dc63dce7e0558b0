/**
 * Sign-up, sign-in, sign-out and password change (password reset: auth.reset.ts, re-exported
 * here). Route handlers (auth.routes.ts) parse and set cookies; everything that decides is here.
 *
 * Secrets never leave this module except where the flow needs them: the session token goes to
 * the cookie, the CSRF token to the session response, reset tokens to the email outbox.
 *
 * Each authentication event is an audit row of type `auth` (audit.admin.ts authAuditStatement),
 * in the same D1 batch as the change it records: sign-up, sign-in (and refused sign-ins),
 * sign-out, password change and reset. The row names the account (`user:<id>`, its email) and
 * the organization that records it — never a password, token or cookie.
 */
import type { z } from '@hono/zod-openapi';
import { authAuditStatement } from '../audit/audit.admin';
import { closeStreamsFor, userOrgIds } from '../events/events.revoke';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import { findAccountByEmail } from './auth.accounts';
import {
  consumeInvitation,
  inspectInvitation,
  joinStatements,
  unconsumeInvitation,
} from './auth.invitations';
import { accountKey, assertNotLocked, clearKey, recordFailure, signInKeys } from './auth.limiter';
import type { changePasswordSchema, SessionDto, signUpSchema } from './auth.schemas';
import {
  findUserByEmail,
  findUserById,
  insertUserStatement,
  listMemberships,
  newOrganizationStatements,
  newOrgSlug,
  personalOrganizationName,
} from './auth.users';
import type { OAuthProvider } from './oauth.providers';
import { hashPassword, verifyPassword } from './password.hash';
import {
  type NewSession,
  prepareSession,
  revokeSessionStatement,
  revokeUserSessionsStatement,
  type SessionContext,
} from './session.store';

export {
  confirmPasswordReset,
  dashboardBaseUrl,
  mailBaseUrl,
  RESET_TTL_MINUTES,
  requestPasswordReset,
} from './auth.reset';

type AuthEnv = Env;

export interface SignedIn {
  session: NewSession;
  view: SessionDto;
}

/** What GET /api/auth/session (and sign-in) answer: who, where, and the CSRF token. */
export async function sessionView(
  db: D1Database,
  session: { userId: string; orgId: string | null; csrfToken: string; expiresAt: number },
): Promise<SessionDto> {
  const [user, organizations] = await Promise.all([
    findUserById(db, session.userId),
    listMemberships(db, session.userId),
  ]);
  if (!user) throw new AppError('unauthorized', { message: 'Session expired or signed out' });
  return {
    user: { id: user.id, email: user.email, name: user.name, emailVerified: user.email_verified === 1 },
    activeOrganization: organizations.find((o) => o.id === session.orgId) ?? null,
    organizations,
    csrfToken: session.csrfToken,
    expiresAt: new Date(session.expiresAt).toISOString(),
  };
}

export type SignInMethod = 'password' | OAuthProvider;

export interface OpenSessionOptions {
  /** The active organization; default: the user's first. */
  orgId?: string | null;
  /** Statements of the same change (a new user, a membership…), run in the session's batch. */
  extra?: D1PreparedStatement[];
  /** The auth audit row of the session: `auth.sign_in` or `auth.sign_up`, how, and for which address. */
  audit: { action: 'auth.sign_in' | 'auth.sign_up'; method: SignInMethod; email: string };
}

/**
 * Opens a session for a user in their first organization (or a given one), with its audit row
 * (recorded by the session's active organization), and builds the answer.
 */
export async function openSession(
  env: AuthEnv,
  userId: string,
  context: SessionContext,
  options: OpenSessionOptions,
): Promise<SignedIn> {
  const active =
    options.orgId === undefined ? ((await listMemberships(env.DB, userId))[0]?.id ?? null) : options.orgId;
  const session = await prepareSession(env, userId, active, context);
  await env.DB.batch([
    ...(options.extra ?? []),
    session.statement,
    authAuditStatement(env.DB, {
      action: options.audit.action,
      orgId: active,
      userId,
      email: options.audit.email,
      details: { method: options.audit.method },
    }),
  ]);
  return { session, view: await sessionView(env.DB, { userId, orgId: active, ...session }) };
}

function invalidCredentials(): AppError {
  return new AppError('unauthorized', { message: 'Wrong email or password' });
}

export async function signUp(
  env: AuthEnv,
  input: z.infer<typeof signUpSchema>,
  context: SessionContext,
): Promise<SignedIn> {
  if (await findUserByEmail(env.DB, input.email)) {
    throw new AppError('conflict', {
      message: 'An account with this email already exists: sign in, or reset the password',
      details: { location: 'body', path: 'email' },
    });
  }
  const invitation = input.invitationToken
    ? await inspectInvitation(env.DB, input.invitationToken, input.email)
    : null;
  const userId = randomId('usr');
  const name = input.name ?? '';
  const passwordHash = await hashPassword(input.password);
  // An accepted invitation proves the address (its token was mailed there); a bare sign-up does not.
  const user = insertUserStatement(env.DB, {
    id: userId,
    email: input.email,
    name,
    emailVerified: invitation !== null,
    passwordHash,
  });

  if (invitation) {
    const consumed = await consumeInvitation(env.DB, invitation.id, input.email);
    try {
      return await openSession(env, userId, context, {
        orgId: consumed.orgId,
        extra: [user, ...joinStatements(env.DB, { id: userId, email: input.email }, consumed, null)],
        audit: { action: 'auth.sign_up', method: 'password', email: input.email },
      });
    } catch (err) {
      await unconsumeInvitation(env.DB, consumed.id);
      throw duplicateEmail(err) ?? err;
    }
  }

  const org = newOrganizationStatements(
    env.DB,
    userId,
    input.organizationName ?? personalOrganizationName(name, input.email),
    newOrgSlug(input.organizationName ?? input.email.split('@')[0] ?? 'org'),
    null,
  );
  try {
    return await openSession(env, userId, context, {
      orgId: org.orgId,
      extra: [user, ...org.statements],
      audit: { action: 'auth.sign_up', method: 'password', email: input.email },
    });
  } catch (err) {
    throw duplicateEmail(err) ?? err;
  }
}

/** Two sign-ups for one address racing: the unique index decides, the loser gets the 409. */
function duplicateEmail(err: unknown): AppError | null {
  if (!/UNIQUE constraint failed: users\.email/.test(String(err))) return null;
  return new AppError('conflict', {
    message: 'An account with this email already exists',
    details: { location: 'body', path: 'email' },
  });
}

/**
 * Same answer and the same work for "no such user", "no password" and "wrong password": one
 * account query, one PBKDF2 derivation (against a dummy hash when there is no real one), one
 * failure counted on both the account and the address, and one audit row.
 */
export async function signIn(
  env: AuthEnv,
  waitUntil: (work: Promise<unknown>) => void,
  input: { email: string; password: string },
  context: SessionContext,
): Promise<SignedIn> {
  const keys = await signInKeys(input.email, context.ip);
  try {
    await assertNotLocked(env, keys);
  } catch (err) {
    if (err instanceof AppError && err.code === 'rate_limited') await auditLockedSignIn(env.DB, input.email);
    throw err;
  }
  const user = await findAccountByEmail(env.DB, input.email);
  const check = await verifyPassword(input.password, user?.password_hash ?? null);
  if (!user || !check.ok) {
    await recordFailure(env, keys);
    // An unknown address is recorded by no organization, under the address that was tried.
    await authAuditStatement(env.DB, {
      action: 'auth.sign_in_failed',
      orgId: user?.first_org_id ?? null,
      userId: user?.id ?? null,
      email: user?.email ?? input.email,
      details: { reason: user ? 'wrong_password' : 'unknown_account' },
    }).run();
    log('info', 'sign-in refused', { reason: user ? 'wrong_password' : 'unknown_account', ip: context.ip });
    throw invalidCredentials();
  }
  await clearKey(env, keys[0]!);
  if (check.needsRehash) {
    const upgrade = hashPassword(input.password).then((hash) =>
      env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(hash, user.id).run(),
    );
    waitUntil(
      upgrade.catch((err: unknown) => log('warn', 'password rehash failed', { err, userId: user.id })),
    );
  }
  return openSession(env, user.id, context, {
    audit: { action: 'auth.sign_in', method: 'password', email: user.email },
  });
}

/**
 * A sign-in refused because the account or the address is locked. Recorded for existing accounts
 * only: the failures that caused the lock are already in the trail, and refusals of unknown
 * addresses would let anyone write rows (to no organization) as fast as they can send requests.
 */
async function auditLockedSignIn(db: D1Database, email: string): Promise<void> {
  const user = await findAccountByEmail(db, email);
  if (!user) return;
  await authAuditStatement(db, {
    action: 'auth.sign_in_failed',
    orgId: user.first_org_id,
    userId: user.id,
    email: user.email,
    details: { reason: 'locked' },
  }).run();
}

/** The signed-in person's session, as far as sign-out and password change need it. */
interface CurrentSession {
  id: string;
  userId: string;
  /** Records the audit row (null: no active organization, so none does). */
  orgId: string | null;
}

/** Signs out one session; its record is revoked, so the same cookie is refused from now on. */
export async function signOut(env: AuthEnv, session: CurrentSession): Promise<void> {
  const user = await findUserById(env.DB, session.userId);
  await env.DB.batch([
    revokeSessionStatement(env.DB, session.id),
    authAuditStatement(env.DB, {
      action: 'auth.sign_out',
      orgId: session.orgId,
      userId: session.userId,
      email: user?.email ?? null,
    }),
  ]);
  await closeStreamsFor(env, [session.orgId], { sessionId: session.id });
}

/** Signs out every session of the user, this one included; answers how many were live. */
export async function signOutEverywhere(env: AuthEnv, session: CurrentSession): Promise<number> {
  const user = await findUserById(env.DB, session.userId);
  const [revoked] = await env.DB.batch([
    revokeUserSessionsStatement(env.DB, session.userId),
    authAuditStatement(env.DB, {
      action: 'auth.sign_out_everywhere',
      orgId: session.orgId,
      userId: session.userId,
      email: user?.email ?? null,
    }),
  ]);
  await closeStreamsFor(env, await userOrgIds(env.DB, session.userId), {
    kind: 'session',
    userId: session.userId,
  });
  return revoked?.meta.changes ?? 0;
}

/** Changes the password of the signed-in user; every other session of theirs is signed out. */
export async function changePassword(
  env: AuthEnv,
  session: CurrentSession,
  input: z.infer<typeof changePasswordSchema>,
): Promise<void> {
  const { userId, id: sessionId } = session;
  const user = await findUserById(env.DB, userId);
  if (!user) throw new AppError('unauthorized');
  // A stolen session must not become an unlimited password oracle: the account window applies.
  const key = await accountKey(user.email);
  await assertNotLocked(env, [key]);
  const check = await verifyPassword(input.currentPassword, user.password_hash);
  if (!check.ok) {
    await recordFailure(env, [key]);
    throw new AppError('forbidden', {
      message: user.password_hash
        ? 'Current password is wrong'
        : 'This account has no password yet: set one with the password reset mail',
      details: { location: 'body', path: 'currentPassword' },
    });
  }
  const hash = await hashPassword(input.newPassword);
  const now = Date.now();
  await env.DB.batch([
    env.DB.prepare('UPDATE users SET password_hash = ? WHERE id = ?').bind(hash, userId),
    revokeUserSessionsStatement(env.DB, userId, sessionId),
    env.DB.prepare('UPDATE password_resets SET used_at = ? WHERE user_id = ? AND used_at IS NULL').bind(
      now,
      userId,
    ),
    authAuditStatement(env.DB, {
      action: 'auth.password_change',
      orgId: session.orgId,
      userId,
      email: user.email,
    }),
  ]);
  await closeStreamsFor(env, await userOrgIds(env.DB, userId), {
    kind: 'session',
    userId,
    exceptSessionId: sessionId,
  });
}
