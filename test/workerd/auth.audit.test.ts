/**
 * People's authentication events in the audit trail (type `auth`): sign-up, sign-in (password and
 * OAuth), refused sign-ins, sign-out, password change and reset, invitations accepted, OAuth
 * identities linked. Each row names the account (`actor` user:<id>, `user` its address) and the
 * organization that records it, and no row anywhere holds a password, a token or a cookie.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { ACCOUNT_RULE } from '../../workers/auth/auth.limiter';
import {
  Browser,
  DASHBOARD_ORIGIN,
  PASSWORD,
  SESSION_COOKIE,
  type SessionBody,
  tokenFromMail,
  uniqueEmail,
} from './auth.helpers';
import { expectApiError, expectJson } from './helpers';

interface AuthRow {
  id: string;
  org_id: string | null;
  type: string;
  action: string;
  actor: string | null;
  user: string | null;
  api_key_id: string | null;
  connection_id: string | null;
  session_id: string | null;
  details: Record<string, unknown>;
}

/** The `auth` rows of an account (by actor) or of an address (by `user`), oldest first. */
async function authRows(who: { userId?: string; email?: string }): Promise<AuthRow[]> {
  const { results } = await env.DB.prepare(
    `SELECT * FROM audit_events WHERE type = 'auth' AND (actor = ? OR user = ?) ORDER BY created_at, id`,
  )
    .bind(who.userId ? `user:${who.userId}` : null, who.email ?? null)
    .all<AuthRow & { details: string }>();
  return results.map((r) => ({ ...r, details: JSON.parse(r.details) as Record<string, unknown> }));
}

/** Actions with their details, sorted: rows written within one millisecond have no order. */
function summary(rows: AuthRow[]): Array<[string, Record<string, unknown>]> {
  return rows
    .map((r): [string, Record<string, unknown>] => [r.action, r.details])
    .sort((a, b) => {
      const [x, y] = [`${a[0]} ${JSON.stringify(a[1])}`, `${b[0]} ${JSON.stringify(b[1])}`];
      return x < y ? -1 : x > y ? 1 : 0;
    });
}

/** Every session cookie value the browser was ever given. */
function sessionTokens(browser: Browser): string[] {
  return browser.setCookies
    .filter((line) => line.startsWith(`${SESSION_COOKIE}=`))
    .map((line) => line.split(';')[0]!.slice(SESSION_COOKIE.length + 1))
    .filter((value) => value.length > 0);
}

/** No audit row of any type contains any of the secrets (nor their SHA-256, stored elsewhere). */
async function expectNoSecretInAudit(secrets: string[]): Promise<void> {
  expect(secrets.every((s) => s.length >= 8)).toBe(true);
  const { results } = await env.DB.prepare('SELECT * FROM audit_events').all();
  const everything = JSON.stringify(results);
  for (const secret of secrets) expect(everything).not.toContain(secret);
}

function expectAccountRows(rows: AuthRow[], userId: string, email: string, orgId: string | null): void {
  expect(rows.length).toBeGreaterThan(0);
  for (const row of rows) {
    expect(row).toMatchObject({
      type: 'auth',
      org_id: orgId,
      actor: `user:${userId}`,
      user: email,
      api_key_id: null,
      connection_id: null,
      session_id: null,
    });
  }
}

describe('password accounts', () => {
  it('records sign-up, sign-in, a wrong password, password change, sign-outs and a reset — without secrets', async () => {
    const email = uniqueEmail('audited');
    const laptop = new Browser();
    const signedUp = await laptop.signUp(email);
    const userId = signedUp.user.id;
    const orgId = signedUp.activeOrganization!.id;

    await expectApiError(
      await new Browser().fetch('POST', '/api/auth/sign-in', {
        body: { email, password: 'not the password at all' },
      }),
      401,
      'unauthorized',
    );
    const phone = new Browser();
    const onPhone = await phone.signIn(email);

    const changed = await laptop.fetch('POST', '/api/auth/password', {
      body: { currentPassword: PASSWORD, newPassword: 'second password here' },
    });
    expect(await expectJson(changed, 200)).toEqual({ changed: true });

    const tablet = new Browser();
    const onTablet = await tablet.signIn(email, 'second password here');
    expect(await expectJson(await tablet.fetch('POST', '/api/auth/sign-out'), 200)).toEqual({
      signedOut: true,
    });
    expect(await expectJson(await laptop.fetch('POST', '/api/auth/sign-out-everywhere'), 200)).toMatchObject({
      signedOut: true,
    });

    await new Browser().fetch('POST', '/api/auth/password/reset', { body: { email } });
    const resetToken = await tokenFromMail(email);
    const reset = await new Browser().fetch('POST', '/api/auth/password/reset/confirm', {
      body: { token: resetToken, newPassword: 'third password here' },
    });
    expect(await expectJson(reset, 200)).toEqual({ reset: true });

    const rows = await authRows({ userId });
    expectAccountRows(rows, userId, email, orgId);
    expect(summary(rows)).toEqual([
      ['auth.password_change', {}],
      ['auth.password_reset', {}],
      ['auth.password_reset_request', {}],
      ['auth.sign_in', { method: 'password' }],
      ['auth.sign_in', { method: 'password' }],
      ['auth.sign_in_failed', { reason: 'wrong_password' }],
      ['auth.sign_out', {}],
      ['auth.sign_out_everywhere', {}],
      ['auth.sign_up', { method: 'password' }],
    ]);

    // Readable through the API by the organization (type and user filters), like any other row.
    const auditor = new Browser();
    await auditor.signIn(email, 'third password here');
    const page = await expectJson<{ events: Array<{ type: string; action: string; actor: string }> }>(
      await auditor.fetch('GET', `/api/v1/audit-events?type=auth&user=${encodeURIComponent(email)}`),
      200,
    );
    expect(page.events).toHaveLength(rows.length + 1); // and the sign-in that read them
    expect(page.events.every((e) => e.type === 'auth' && e.actor === `user:${userId}`)).toBe(true);

    const tokens = [laptop, phone, tablet, auditor].flatMap(sessionTokens);
    expect(tokens.length).toBeGreaterThanOrEqual(4);
    await expectNoSecretInAudit([
      PASSWORD,
      'not the password at all',
      'second password here',
      'third password here',
      resetToken,
      ...tokens,
      signedUp.csrfToken,
      onPhone.csrfToken,
      onTablet.csrfToken,
    ]);
  });

  it('records a sign-in to an unknown address once, under that address (lower-cased) and no organization', async () => {
    const email = uniqueEmail('nobody');
    const res = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email: email.toUpperCase(), password: 'guessing a password' },
    });
    await expectApiError(res, 401, 'unauthorized');
    const rows = await authRows({ email });
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      type: 'auth',
      action: 'auth.sign_in_failed',
      org_id: null,
      actor: null,
      user: email,
      details: { reason: 'unknown_account' },
    });
    await expectNoSecretInAudit(['guessing a password']);
  });

  it('records refusals of a locked account as "locked"; a locked unknown address writes nothing more', async () => {
    const email = uniqueEmail('lockme');
    const session = await new Browser().signUp(email);
    for (let i = 0; i < ACCOUNT_RULE.limit; i++) {
      await expectApiError(
        await new Browser().fetch('POST', '/api/auth/sign-in', { body: { email, password: `guess ${i}` } }),
        401,
        'unauthorized',
      );
    }
    const locked = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: PASSWORD },
    });
    await expectApiError(locked, 429, 'rate_limited');
    const failures = (await authRows({ userId: session.user.id })).filter(
      (r) => r.action === 'auth.sign_in_failed',
    );
    expect(failures.map((r) => r.details.reason).sort()).toEqual([
      'locked',
      ...Array<string>(ACCOUNT_RULE.limit).fill('wrong_password'),
    ]);
    expectAccountRows(failures, session.user.id, email, session.activeOrganization!.id);

    const ghost = uniqueEmail('lockedghost');
    for (let i = 0; i <= ACCOUNT_RULE.limit; i++) {
      await new Browser().fetch('POST', '/api/auth/sign-in', {
        body: { email: ghost, password: 'whatever 1' },
      });
    }
    const ghostRows = await authRows({ email: ghost });
    expect(ghostRows.map((r) => r.details.reason)).toEqual(
      Array<string>(ACCOUNT_RULE.limit).fill('unknown_account'),
    );
  });

  it('records a sign-in with no organization (the person left their only one) under no organization', async () => {
    const owner = new Browser();
    await owner.signUp();
    const email = uniqueEmail('leaver');
    await owner.fetch('POST', '/api/auth/invitations', { body: { email, role: 'developer' } });
    const invitee = new Browser();
    const joined = await invitee.signUp(email, PASSWORD, { invitationToken: await tokenFromMail(email) });
    const left = await invitee.fetch(
      'POST',
      `/api/auth/organizations/${joined.activeOrganization!.id}/leave`,
    );
    expect(left.status).toBe(200);
    await new Browser().signIn(email);
    await expectApiError(
      await new Browser().fetch('POST', '/api/auth/sign-in', { body: { email, password: 'wrong one!' } }),
      401,
      'unauthorized',
    );
    const rows = (await authRows({ userId: joined.user.id })).filter((r) =>
      r.action.startsWith('auth.sign_in'),
    );
    expectAccountRows(rows, joined.user.id, email, null);
    expect(summary(rows)).toEqual([
      ['auth.sign_in', { method: 'password' }],
      ['auth.sign_in_failed', { reason: 'wrong_password' }],
    ]);
  });
});

describe('invitations', () => {
  it('records an accepted invitation in the inviting organization (sign-up with it, or signed in), never the token', async () => {
    const owner = new Browser();
    const inviting = await owner.signUp();
    const orgId = inviting.activeOrganization!.id;

    // 1. Signing up with the invitation.
    const newcomer = uniqueEmail('newcomer');
    await owner.fetch('POST', '/api/auth/invitations', { body: { email: newcomer, role: 'auditor' } });
    const firstToken = await tokenFromMail(newcomer);
    const joined = await new Browser().signUp(newcomer, PASSWORD, { invitationToken: firstToken });
    const newcomerRows = await authRows({ userId: joined.user.id });
    expectAccountRows(newcomerRows, joined.user.id, newcomer, orgId);
    expect(summary(newcomerRows)).toEqual([
      ['auth.invitation_accept', { invitationId: expect.any(String), role: 'auditor' }],
      ['auth.sign_up', { method: 'password' }],
    ]);

    // 2. Accepting it while signed in (in their own organization): recorded by the inviting one.
    const member = uniqueEmail('member');
    const existing = new Browser();
    const own = await existing.signUp(member);
    await owner.fetch('POST', '/api/auth/invitations', { body: { email: member, role: 'developer' } });
    const secondToken = await tokenFromMail(member);
    const accepted = await existing.fetch('POST', '/api/auth/invitations/accept', {
      body: { token: secondToken },
    });
    expect(accepted.status).toBe(200);
    const accept = (await authRows({ userId: own.user.id })).filter(
      (r) => r.action === 'auth.invitation_accept',
    );
    expectAccountRows(accept, own.user.id, member, orgId);
    expect(accept.map((r) => r.details.role)).toEqual(['developer']);

    // The organization's own record of the change stays an admin row.
    const join = await env.DB.prepare(
      "SELECT count(*) AS n FROM audit_events WHERE org_id = ? AND type = 'admin' AND action = 'member.join'",
    )
      .bind(orgId)
      .first<{ n: number }>();
    expect(join?.n).toBe(2);
    await expectNoSecretInAudit([firstToken, secondToken, ...sessionTokens(existing)]);
  });
});

describe('OAuth', () => {
  const FAKE = new URL(env.GOOGLE_TOKEN_URL).origin;

  async function persona(email: string): Promise<{ id: string; email: string }> {
    const p = {
      id: String(100000 + Math.floor(Math.random() * 1e9)),
      email,
      emailVerified: true,
      name: 'Octo',
    };
    const res = await fetch(`${FAKE}/_personas`, { method: 'POST', body: JSON.stringify(p) });
    if (res.status !== 201) throw new Error(`fake persona: ${res.status}`);
    return p;
  }

  /** The whole redirect dance; answers what our callback saw, for the secrets check. */
  async function signInWith(provider: 'github' | 'google', who: { id: string }, browser = new Browser()) {
    const started = await browser.fetch(
      'GET',
      `/api/auth/oauth/${provider}/start?redirectTo=${encodeURIComponent(`${DASHBOARD_ORIGIN}/welcome`)}`,
    );
    const authorize = new URL(started.headers.get('Location')!);
    authorize.searchParams.set('persona', who.id);
    const atProvider = await fetch(authorize, { redirect: 'manual' });
    const back = new URL(atProvider.headers.get('Location')!);
    const res = await browser.fetch('GET', `${back.pathname}${back.search}`, { origin: null });
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome`);
    return { browser, code: back.searchParams.get('code')!, state: back.searchParams.get('state')! };
  }

  it('records the link and the sign-up of a new account, then sign-ins with the provider as method', async () => {
    const email = uniqueEmail('octo');
    const who = await persona(email);
    const first = await signInWith('github', who);
    const session: SessionBody = await first.browser.session();
    const second = await signInWith('github', who);
    const rows = await authRows({ userId: session.user.id });
    expectAccountRows(rows, session.user.id, email, session.activeOrganization!.id);
    expect(summary(rows)).toEqual([
      ['auth.oauth_link', { provider: 'github', newAccount: true, unverifiedPasswordRemoved: false }],
      ['auth.sign_in', { method: 'github' }],
      ['auth.sign_up', { method: 'github' }],
    ]);
    await expectNoSecretInAudit(
      [first, second].flatMap((s) => [s.code, s.state, ...sessionTokens(s.browser)]),
    );
  });

  it('records linking a provider identity to an existing account (and whether its unproven password was removed)', async () => {
    const verified = uniqueEmail('verified');
    const owner = await new Browser().signUp(verified);
    await env.DB.prepare('UPDATE users SET email_verified = 1 WHERE email = ?').bind(verified).run();
    await signInWith('google', await persona(verified));
    const rows = (await authRows({ userId: owner.user.id })).filter((r) => r.action !== 'auth.sign_up');
    expectAccountRows(rows, owner.user.id, verified, owner.activeOrganization!.id);
    expect(summary(rows)).toEqual([
      ['auth.oauth_link', { provider: 'google', newAccount: false, unverifiedPasswordRemoved: false }],
      ['auth.sign_in', { method: 'google' }],
    ]);

    const squatted = uniqueEmail('squatted');
    const squatter = await new Browser().signUp(squatted, 'squatter password 123');
    await signInWith('github', await persona(squatted));
    const link = (await authRows({ userId: squatter.user.id })).filter((r) => r.action === 'auth.oauth_link');
    expect(link.map((r) => r.details)).toEqual([
      { provider: 'github', newAccount: false, unverifiedPasswordRemoved: true },
    ]);
    await expectNoSecretInAudit(['squatter password 123']);
  });
});
