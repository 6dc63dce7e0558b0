/**
 * People sign-in with email and password: sign-up, sign-in, the session cookie and its record,
 * sign-out (here and everywhere), password change and password reset by mailed token.
 */
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { sessionView } from '../../workers/auth/auth.service';
import { PASSWORD_ITERATIONS } from '../../workers/auth/password.hash';
import { signSessionToken, verifySessionToken } from '../../workers/auth/session.token';
import {
  Browser,
  latestMail,
  mailCount,
  PASSWORD,
  SESSION_COOKIE,
  type SessionBody,
  tokenFromMail,
  uniqueEmail,
} from './auth.helpers';
import { expectApiError, expectJson } from './helpers';

async function userRow(email: string) {
  return env.DB.prepare('SELECT * FROM users WHERE email = ?').bind(email).first<{
    id: string;
    password_hash: string | null;
    email_verified: number;
  }>();
}

describe('sign-up', () => {
  it('creates the user with a PBKDF2 hash and a personal organization they own, and signs them in', async () => {
    const browser = new Browser();
    const email = uniqueEmail('signup');
    const res = await browser.fetch('POST', '/api/auth/sign-up', {
      body: { email: email.toUpperCase(), password: PASSWORD, name: 'Ada' },
    });
    const body = await expectJson<SessionBody>(res, 201);
    expect(body.user).toMatchObject({ email, name: 'Ada', emailVerified: false });
    expect(body.activeOrganization).toMatchObject({ name: "Ada's organization", role: 'owner' });
    expect(body.organizations).toHaveLength(1);
    expect(body.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);

    const cookie = res.headers.getSetCookie().find((c) => c.startsWith(`${SESSION_COOKIE}=`))!;
    expect(cookie).toMatch(/; HttpOnly/i);
    expect(cookie).toMatch(/; Secure/i);
    expect(cookie).toMatch(/; SameSite=Lax/i);
    expect(cookie).toMatch(/; Path=\/api/);
    // The token is only in the cookie, never in the body.
    expect(JSON.stringify(body)).not.toContain(browser.sessionToken!);
    expect(JSON.stringify(body)).not.toContain(PASSWORD);

    const user = await userRow(email);
    expect(user!.password_hash).toMatch(
      new RegExp(`^pbkdf2-sha256\\$${PASSWORD_ITERATIONS}\\$[A-Za-z0-9_-]{22}\\$[A-Za-z0-9_-]{43}$`),
    );
    const member = await env.DB.prepare('SELECT role FROM members WHERE user_id = ? AND org_id = ?')
      .bind(user!.id, body.activeOrganization!.id)
      .first<{ role: string }>();
    expect(member?.role).toBe('owner');
    const session = await env.DB.prepare('SELECT * FROM auth_sessions WHERE user_id = ?')
      .bind(user!.id)
      .first<{
        csrf_hash: string;
        org_id: string;
        ip: string;
      }>();
    expect(session).toMatchObject({ org_id: body.activeOrganization!.id, ip: browser.ip });
    expect(session!.csrf_hash).not.toBe(body.csrfToken); // only its hash is stored
  });

  it('uses the organization name given, and refuses an email that already has an account', async () => {
    const email = uniqueEmail('dup');
    const first = await new Browser().signUp(email, PASSWORD, { organizationName: 'Acme Security' });
    expect(first.activeOrganization).toMatchObject({ name: 'Acme Security', role: 'owner' });
    expect(first.activeOrganization!.slug).toMatch(/^acme-security-[a-z0-9]{6}$/);
    const again = await new Browser().fetch('POST', '/api/auth/sign-up', {
      body: { email, password: PASSWORD },
    });
    await expectApiError(again, 409, 'conflict');
  });

  it('refuses short passwords and malformed emails with field-level details', async () => {
    const res = await new Browser().fetch('POST', '/api/auth/sign-up', {
      body: { email: 'not-an-email', password: 'short' },
    });
    const error = await expectApiError(res, 400, 'validation_failed');
    const paths = (error.details!.issues as Array<{ path: string }>).map((i) => i.path).sort();
    expect(paths).toEqual(['email', 'password']);
  });
});

describe('sign-in', () => {
  it('signs in with the right password and answers the current session', async () => {
    const email = uniqueEmail('signin');
    await new Browser().signUp(email);
    const browser = new Browser();
    const signedIn = await browser.signIn(email);
    expect(signedIn.user.email).toBe(email);
    const current = await browser.session();
    expect(current.user.email).toBe(email);
    expect(current.csrfToken).toBe(signedIn.csrfToken);
    expect(current.activeOrganization?.role).toBe('owner');
  });

  it('gives "wrong password" and "no such user" the very same answer', async () => {
    const email = uniqueEmail('same');
    await new Browser().signUp(email);
    const wrong = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: 'not the password' },
    });
    const nobody = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email: uniqueEmail('nobody'), password: 'not the password' },
    });
    expect(wrong.status).toBe(401);
    expect(nobody.status).toBe(401);
    const [a, b] = [await wrong.text(), await nobody.text()];
    expect(a).toBe(b);
    expect(JSON.parse(a)).toEqual({ error: { code: 'unauthorized', message: 'Wrong email or password' } });
    expect(wrong.headers.getSetCookie()).toEqual([]);
  });

  it('refuses an account that has no password (OAuth-only) like a wrong password', async () => {
    const email = uniqueEmail('nopw');
    await new Browser().signUp(email);
    await env.DB.prepare('UPDATE users SET password_hash = NULL WHERE email = ?').bind(email).run();
    const res = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: PASSWORD },
    });
    await expectApiError(res, 401, 'unauthorized');
  });

  it('refuses requests without a cookie, and forged, foreign-key or expired tokens', async () => {
    await expectApiError(await new Browser().fetch('GET', '/api/auth/session'), 401, 'unauthorized');

    const forged = new Browser();
    forged.cookies.set(SESSION_COOKIE, 'eyJhbGciOiJIUzI1NiJ9.eyJzaWQiOiJ4In0.AAAA');
    const refused = await forged.fetch('GET', '/api/auth/session');
    await expectApiError(refused, 401, 'unauthorized');
    expect(refused.headers.getSetCookie().join()).toMatch(/igris\.session_token=; Max-Age=0/);

    const email = uniqueEmail('keys');
    const real = new Browser();
    const session = await real.signUp(email);
    const row = await env.DB.prepare('SELECT id FROM auth_sessions WHERE user_id = ?')
      .bind(session.user.id)
      .first<{ id: string }>();
    const claims = { sid: row!.id, sub: session.user.id, csrf: session.csrfToken };
    const otherKey = await signSessionToken(
      { SESSION_SECRET: 'another-secret-another-secret-another-secret', SESSION_SECRET_PREVIOUS: '' },
      claims,
    );
    const stranger = new Browser();
    stranger.cookies.set(SESSION_COOKIE, otherKey);
    await expectApiError(await stranger.fetch('GET', '/api/auth/session'), 401, 'unauthorized');

    const expired = await signSessionToken(env, claims, Math.floor(Date.now() / 1000) - 2 * 3600);
    const late = new Browser();
    late.cookies.set(SESSION_COOKIE, expired);
    await expectApiError(await late.fetch('GET', '/api/auth/session'), 401, 'unauthorized');
  });

  it('renews an ageing token in the cookie without changing the session or its CSRF token', async () => {
    const browser = new Browser();
    const session = await browser.signUp();
    const row = await env.DB.prepare('SELECT id FROM auth_sessions WHERE user_id = ?')
      .bind(session.user.id)
      .first<{ id: string }>();
    const old = await signSessionToken(
      env,
      { sid: row!.id, sub: session.user.id, csrf: session.csrfToken },
      Math.floor(Date.now() / 1000) - 20 * 60,
    );
    browser.cookies.set(SESSION_COOKIE, old);
    const res = await browser.fetch('GET', '/api/auth/session');
    expect(res.status).toBe(200);
    expect(browser.sessionToken).toBeDefined();
    expect(browser.sessionToken).not.toBe(old);
    const renewed = await verifySessionToken(env, browser.sessionToken!);
    expect(renewed).toMatchObject({ sid: row!.id, sub: session.user.id, csrf: session.csrfToken });
  });

  it('accepts tokens signed with SESSION_SECRET_PREVIOUS during a rotation, and only then', async () => {
    const claims = { sid: 'ses_x', sub: 'usr_x', csrf: 'c' };
    const oldSecret = 'old-secret-old-secret-old-secret-old-secret';
    const newSecret = 'new-secret-new-secret-new-secret-new-secret';
    const token = await signSessionToken({ SESSION_SECRET: oldSecret, SESSION_SECRET_PREVIOUS: '' }, claims);
    const rotating = await verifySessionToken(
      { SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: oldSecret },
      token,
    );
    expect(rotating).toMatchObject({ sid: 'ses_x', previousKey: true });
    expect(
      await verifySessionToken({ SESSION_SECRET: newSecret, SESSION_SECRET_PREVIOUS: '' }, token),
    ).toBeNull();
  });
});

describe('sign-out', () => {
  it('revokes the session at once: the same cookie is refused on its next request, here and on /api/v1', async () => {
    const browser = new Browser();
    await browser.signUp();
    const token = browser.sessionToken!;
    const out = await browser.fetch('POST', '/api/auth/sign-out');
    expect(await expectJson(out, 200)).toEqual({ signedOut: true });
    expect(browser.sessionToken).toBeUndefined(); // the cookie was cleared

    const replay = new Browser(browser.ip);
    replay.cookies.set(SESSION_COOKIE, token);
    replay.csrf = browser.csrf;
    await expectApiError(await replay.fetch('GET', '/api/auth/session'), 401, 'unauthorized');
    await expectApiError(await replay.fetch('GET', '/api/v1/connections'), 401, 'unauthorized');
  });

  it('signs out everywhere: every other browser of the user is refused on its next request', async () => {
    const email = uniqueEmail('everywhere');
    const laptop = new Browser();
    await laptop.signUp(email);
    const phone = new Browser();
    await phone.signIn(email);
    const out = await phone.fetch('POST', '/api/auth/sign-out-everywhere');
    expect(await expectJson(out, 200)).toEqual({ signedOut: true, sessions: 2 });
    await expectApiError(await laptop.fetch('GET', '/api/auth/session'), 401, 'unauthorized');
    await expectApiError(await laptop.fetch('GET', '/api/v1/connections'), 401, 'unauthorized');
    // Signing in again works.
    await new Browser().signIn(email);
  });

  it('refuses sign-out without the CSRF token (it is a state-changing request)', async () => {
    const browser = new Browser();
    await browser.signUp();
    await expectApiError(
      await browser.fetch('POST', '/api/auth/sign-out', { csrf: false }),
      403,
      'csrf_failed',
    );
    expect((await browser.session()).user).toBeDefined();
  });
});

describe('password change', () => {
  it('needs the current password, then signs out every other session and keeps this one', async () => {
    const email = uniqueEmail('change');
    const here = new Browser();
    await here.signUp(email);
    const elsewhere = new Browser();
    await elsewhere.signIn(email);

    const wrong = await here.fetch('POST', '/api/auth/password', {
      body: { currentPassword: 'not my password', newPassword: 'a brand new password' },
    });
    const err = await expectApiError(wrong, 403, 'forbidden');
    expect(err.message).toBe('Current password is wrong');

    const ok = await here.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
    });
    expect(await expectJson(ok, 200)).toEqual({ changed: true });
    expect((await here.session()).user.email).toBe(email);
    await expectApiError(await elsewhere.fetch('GET', '/api/auth/session'), 401, 'unauthorized');

    await expectApiError(
      await new Browser().fetch('POST', '/api/auth/sign-in', { body: { email, password: PASSWORD } }),
      401,
      'unauthorized',
    );
    await new Browser().signIn(email, 'a brand new password');
  });

  it('refuses a too-short new password and a request without CSRF token', async () => {
    const browser = new Browser();
    await browser.signUp();
    const short = await browser.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'short' },
    });
    await expectApiError(short, 400, 'validation_failed');
    const noCsrf = await browser.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'a brand new password' },
      csrf: false,
    });
    await expectApiError(noCsrf, 403, 'csrf_failed');
  });
});

describe('password reset by mailed token', () => {
  it('mails a single-use token; the same answer and no mail for unknown addresses', async () => {
    const email = uniqueEmail('reset');
    await new Browser().signUp(email);
    const unknown = uniqueEmail('ghost');

    const known = await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    const ghost = await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email: unknown } });
    expect(known.status).toBe(202);
    expect(ghost.status).toBe(202);
    expect(await known.text()).toBe(await ghost.text());
    expect(await mailCount(unknown)).toBe(0);

    const mail = await latestMail(email);
    expect(mail!.subject).toBe('Reset your Igris password');
    const token = await tokenFromMail(email);
    // Only the hash is stored.
    const stored = await env.DB.prepare('SELECT token_hash FROM password_resets WHERE token_hash = ?')
      .bind(token)
      .first();
    expect(stored).toBeNull();
  });

  it('sets the new password once, signs out every session, proves the address; a reused token is refused', async () => {
    const email = uniqueEmail('reset2');
    const before = new Browser();
    await before.signUp(email);
    await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    const token = await tokenFromMail(email);

    const done = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token, newPassword: 'reset to this one' },
    });
    expect(await expectJson(done, 200)).toEqual({ reset: true });
    await expectApiError(await before.fetch('GET', '/api/auth/session'), 401, 'unauthorized');
    expect((await userRow(email))!.email_verified).toBe(1);
    await new Browser().signIn(email, 'reset to this one');

    const reused = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token, newPassword: 'and again another one' },
    });
    const err = await expectApiError(reused, 400, 'bad_request');
    expect(err.message).toBe('Reset token is invalid, expired or already used');
    await new Browser().signIn(email, 'reset to this one');
  });

  it('refuses an expired token and a made-up one', async () => {
    const email = uniqueEmail('reset3');
    await new Browser().signUp(email);
    await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    const token = await tokenFromMail(email);
    await env.DB.prepare(
      'UPDATE password_resets SET expires_at = ? WHERE user_id = (SELECT id FROM users WHERE email = ?)',
    )
      .bind(Date.now() - 1000, email)
      .run();
    const expired = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token, newPassword: 'never going to work' },
    });
    await expectApiError(expired, 400, 'bad_request');
    const madeUp = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token: 'A'.repeat(43), newPassword: 'never going to work' },
    });
    await expectApiError(madeUp, 400, 'bad_request');
    await new Browser().signIn(email); // the old password still works
  });

  it('limits reset mails per address (429 with Retry-After after five an hour)', async () => {
    const email = uniqueEmail('flood');
    await new Browser().signUp(email);
    for (let i = 0; i < 5; i++) {
      expect(
        (await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } })).status,
      ).toBe(202);
    }
    const sixth = await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    await expectApiError(sixth, 429, 'rate_limited');
    expect(Number(sixth.headers.get('Retry-After'))).toBeGreaterThan(0);
    expect(await mailCount(email)).toBe(5);
  });
});

describe('secrets stay out of logs and answers', () => {
  const spies: Array<ReturnType<typeof vi.spyOn>> = [];
  afterEach(() => {
    for (const spy of spies.splice(0)) spy.mockRestore();
  });

  it('never logs passwords, session tokens, CSRF tokens or reset tokens', async () => {
    const lines: string[] = [];
    for (const method of ['log', 'warn', 'error', 'info', 'debug'] as const) {
      spies.push(
        vi
          .spyOn(console, method)
          .mockImplementation((...args: unknown[]) => void lines.push(args.map(String).join(' '))),
      );
    }
    const email = uniqueEmail('logs');
    const browser = new Browser();
    const session = await browser.signUp(email);
    await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: 'wrong wrong wrong' },
    });
    await browser.fetch('POST', '/api/auth/password/reset', { body: { email } });
    const token = await tokenFromMail(email);
    await browser.fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token, newPassword: 'the next password' },
    });
    const logged = lines.join('\n');
    expect(logged).toContain('email written to the development outbox');
    for (const secret of [
      PASSWORD,
      'wrong wrong wrong',
      'the next password',
      token,
      session.csrfToken,
      browser.setCookies[0]!.split(';')[0]!.split('=')[1]!,
    ]) {
      expect(logged).not.toContain(secret);
    }
  });

  it('sessionView never includes the password hash', async () => {
    const browser = new Browser();
    const session = await browser.signUp();
    const view = await sessionView(env.DB, {
      userId: session.user.id,
      orgId: null,
      csrfToken: 'x',
      expiresAt: Date.now(),
    });
    expect(JSON.stringify(view)).not.toContain('pbkdf2');
  });
});

describe('reference', () => {
  it('publishes an OpenAPI document for /api/auth', async () => {
    const doc = await expectJson<{ paths: Record<string, unknown> }>(
      await new Browser().fetch('GET', '/api/auth/openapi.json'),
      200,
    );
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining([
        '/sign-up',
        '/sign-in',
        '/session',
        '/invitations/accept',
        '/oauth/{provider}/callback',
      ]),
    );
  });
});
