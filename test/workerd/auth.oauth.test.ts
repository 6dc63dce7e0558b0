/**
 * OAuth sign-in end to end against the local fake GitHub / Google (test/workerd/auth.fake-provider.ts):
 * the Worker redirects to the fake's /authorize, the fake redirects back with a code, the Worker's
 * callback exchanges it with the PKCE verifier (the fake checks S256), reads the identity (GitHub
 * REST, Google id_token verified against the fake's JWKS) and signs the person in.
 */
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { Browser, DASHBOARD_ORIGIN, PASSWORD, SESSION_COOKIE, uniqueEmail } from './auth.helpers';
import { expectApiError, expectJson } from './helpers';

const FAKE = new URL(env.GOOGLE_TOKEN_URL).origin;

interface Persona {
  id: string;
  email: string;
  emailVerified: boolean;
  name?: string;
  idTokenFlaw?: 'foreign-key' | 'wrong-audience' | 'wrong-nonce' | 'expired';
}

async function persona(overrides: Partial<Persona> = {}): Promise<Persona> {
  const p: Persona = {
    id: String(100000 + Math.floor(Math.random() * 1e9)),
    email: uniqueEmail('oauth'),
    emailVerified: true,
    name: 'Octo Cat',
    ...overrides,
  };
  const res = await fetch(`${FAKE}/_personas`, { method: 'POST', body: JSON.stringify(p) });
  if (res.status !== 201) throw new Error(`fake persona: ${res.status}`);
  return p;
}

/**
 * What the fake provider's /token decided for codes issued to `personaId`. The provider is shared
 * with other test files that may sign in meanwhile: entries are found by persona, not by position.
 */
/** auth.fake-provider.ts's TokenLogEntry (that module runs in Node, this test in workerd). */
interface TokenLogEntry {
  provider: string;
  persona?: string;
  outcome: 'issued' | 'refused';
  reason?: string;
  pkce?: string;
}

async function tokenLog(personaId: string): Promise<TokenLogEntry[]> {
  const all = (await (await fetch(`${FAKE}/_log`)).json()) as TokenLogEntry[];
  return all.filter((e) => e.persona === personaId);
}

/** Step 1: our /start. Returns the provider URL it redirected to. */
async function start(
  browser: Browser,
  provider: 'github' | 'google',
  redirectTo = `${DASHBOARD_ORIGIN}/welcome`,
) {
  const res = await browser.fetch(
    'GET',
    `/api/auth/oauth/${provider}/start?redirectTo=${encodeURIComponent(redirectTo)}`,
  );
  expect(res.status).toBe(302);
  return new URL(res.headers.get('Location')!);
}

/** Step 2: the person at the provider clicks "allow" (or "cancel"); the provider redirects back to us. */
async function atProvider(authorizeUrl: URL, who: Persona, options: { deny?: boolean } = {}): Promise<URL> {
  const url = new URL(authorizeUrl);
  url.searchParams.set('persona', who.id);
  if (options.deny) url.searchParams.set('deny', '1');
  const res = await fetch(url, { redirect: 'manual' });
  expect(res.status).toBe(302);
  return new URL(res.headers.get('Location')!);
}

/** Step 3: the browser follows the provider's redirect to our callback. */
async function callback(browser: Browser, back: URL): Promise<Response> {
  return browser.fetch('GET', `${back.pathname}${back.search}`, { origin: null });
}

async function signInWith(provider: 'github' | 'google', who: Persona, browser = new Browser()) {
  const authorize = await start(browser, provider);
  const back = await atProvider(authorize, who);
  const res = await callback(browser, back);
  return { res, browser, authorize, back };
}

async function userByEmail(email: string) {
  return env.DB.prepare('SELECT * FROM users WHERE email = ?').bind(email).first<{
    id: string;
    email_verified: number;
    password_hash: string | null;
  }>();
}

describe('OAuth start', () => {
  it('lists the configured providers', async () => {
    const res = await new Browser().fetch('GET', '/api/auth/oauth/providers');
    expect(await expectJson(res, 200)).toEqual({ providers: ['github', 'google'] });
  });

  it('redirects with state and an S256 code challenge, keeping the verifier server-side and the state in a cookie', async () => {
    const browser = new Browser();
    const authorize = await start(browser, 'github');
    expect(authorize.origin).toBe(FAKE);
    const q = authorize.searchParams;
    expect(q.get('client_id')).toBe(env.GITHUB_CLIENT_ID);
    expect(q.get('redirect_uri')).toBe('http://gateway.test/api/auth/oauth/github/callback');
    expect(q.get('code_challenge_method')).toBe('S256');
    expect(q.get('code_challenge')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const state = q.get('state')!;
    expect(browser.cookies.get('igris.oauth_state')).toBe(state);
    const cookie = browser.setCookies.find((c) => c.startsWith('igris.oauth_state='))!;
    expect(cookie).toMatch(/HttpOnly/);
    expect(cookie).toMatch(/Max-Age=600/);
    // The state row holds the verifier (not the challenge) and is stored under the state's hash.
    const { results } = await env.DB.prepare(
      'SELECT state, code_verifier, expires_at FROM oauth_states',
    ).all<{
      state: string;
      code_verifier: string;
      expires_at: number;
    }>();
    expect(results.map((r) => r.state)).not.toContain(state);
    const verifierDigest = async (v: string) =>
      btoa(
        String.fromCharCode(
          ...new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(v))),
        ),
      )
        .replace(/\+/g, '-')
        .replace(/\//g, '_')
        .replace(/=+$/, '');
    const challenges = await Promise.all(results.map((r) => verifierDigest(r.code_verifier)));
    expect(challenges).toContain(q.get('code_challenge'));
    const mine = results[challenges.indexOf(q.get('code_challenge')!)]!;
    expect(mine.expires_at - Date.now()).toBeGreaterThan(9 * 60_000);
    expect(mine.expires_at - Date.now()).toBeLessThanOrEqual(10 * 60_000);
  });

  it('refuses open redirects and unknown providers', async () => {
    for (const target of ['https://evil.test/', '//evil.test/x', '/\\evil.test']) {
      const res = await new Browser().fetch(
        'GET',
        `/api/auth/oauth/github/start?redirectTo=${encodeURIComponent(target)}`,
      );
      await expectApiError(res, 400, 'validation_failed');
    }
    const relative = await new Browser().fetch('GET', '/api/auth/oauth/github/start?redirectTo=%2Fsettings');
    expect(relative.status).toBe(302);
    await expectApiError(
      await new Browser().fetch('GET', '/api/auth/oauth/gitlab/start'),
      400,
      'validation_failed',
    );
  });
});

describe('GitHub sign-in', () => {
  it('creates a verified user with a personal organization and signs them in (PKCE verified by the provider)', async () => {
    const who = await persona({ name: 'Mona Lisa' });
    const { res, browser } = await signInWith('github', who);
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome`);
    expect(browser.sessionToken).toBeDefined();
    expect(browser.cookies.has('igris.oauth_state')).toBe(false); // cleared
    const session = await browser.session();
    expect(session.user).toMatchObject({ email: who.email, name: 'Mona Lisa', emailVerified: true });
    expect(session.activeOrganization?.role).toBe('owner');
    const link = await env.DB.prepare(
      'SELECT user_id, email FROM oauth_accounts WHERE provider = ? AND provider_account_id = ?',
    )
      .bind('github', who.id)
      .first<{ user_id: string; email: string }>();
    expect(link).toEqual({ user_id: session.user.id, email: who.email });
    expect((await userByEmail(who.email))!.password_hash).toBeNull();
    expect(await tokenLog(who.id)).toEqual([
      { provider: 'github', persona: who.id, outcome: 'issued', pkce: 'S256-verified' },
    ]);
    // The session works on the management API like any other.
    expect((await browser.fetch('GET', '/api/v1/connections')).status).toBe(200);
  });

  it('signs the same GitHub account into the same user next time', async () => {
    const who = await persona();
    const first = await signInWith('github', who);
    const again = await signInWith('github', who);
    const [a, b] = [await first.browser.session(), await again.browser.session()];
    expect(b.user.id).toBe(a.user.id);
    const { n } = (await env.DB.prepare('SELECT count(*) AS n FROM users WHERE email = ?')
      .bind(who.email)
      .first<{ n: number }>())!;
    expect(n).toBe(1);
  });

  it('links to an existing password account by VERIFIED email, keeping its verified password', async () => {
    const email = uniqueEmail('linkme');
    const owner = new Browser();
    await owner.signUp(email);
    await env.DB.prepare('UPDATE users SET email_verified = 1 WHERE email = ?').bind(email).run();
    const { res, browser } = await signInWith('github', await persona({ email }));
    expect(res.status).toBe(302);
    expect((await browser.session()).user.email).toBe(email);
    expect((await owner.session()).user.email).toBe(email); // the earlier session survives
    await new Browser().signIn(email, PASSWORD);
  });

  it('linking to an UNverified account removes its unproven password and signs out its sessions', async () => {
    const email = uniqueEmail('squatted');
    const squatter = new Browser();
    await squatter.signUp(email, 'squatter password 123');
    const { res, browser } = await signInWith('github', await persona({ email }));
    expect(res.status).toBe(302);
    expect((await browser.session()).user.emailVerified).toBe(true);
    await expectApiError(await squatter.fetch('GET', '/api/auth/session'), 401, 'unauthorized');
    const attempt = await new Browser().fetch('POST', '/api/auth/sign-in', {
      body: { email, password: 'squatter password 123' },
    });
    await expectApiError(attempt, 401, 'unauthorized');
    expect((await userByEmail(email))!.password_hash).toBeNull();
  });

  it('refuses an unverified GitHub email: nothing created, nothing linked, back to the dashboard with an error', async () => {
    const email = uniqueEmail('unverified');
    const existing = new Browser();
    await existing.signUp(email);
    const { res, browser } = await signInWith('github', await persona({ email, emailVerified: false }));
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=email_unverified`);
    expect(browser.sessionToken).toBeUndefined();
    const links = await env.DB.prepare(
      'SELECT count(*) AS n FROM oauth_accounts a JOIN users u ON u.id = a.user_id WHERE u.email = ?',
    )
      .bind(email)
      .first<{ n: number }>();
    expect(links!.n).toBe(0);
    expect((await existing.session()).user.email).toBe(email);
  });

  it('goes back with auth_error=access_denied when the person cancels at the provider', async () => {
    const browser = new Browser();
    const authorize = await start(browser, 'github');
    const back = await atProvider(authorize, await persona(), { deny: true });
    const res = await callback(browser, back);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=access_denied`);
    expect(browser.sessionToken).toBeUndefined();
  });

  it('fails when the stored PKCE verifier does not match the challenge the provider saw', async () => {
    const browser = new Browser();
    const authorize = await start(browser, 'github');
    await env.DB.prepare('UPDATE oauth_states SET code_verifier = ? WHERE expires_at > ?')
      .bind(`tampered-${randomId('v', 40)}`, Date.now())
      .run();
    const who = await persona();
    const back = await atProvider(authorize, who);
    const res = await callback(browser, back);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=provider_error`);
    expect(browser.sessionToken).toBeUndefined();
    expect(await tokenLog(who.id)).toEqual([
      {
        provider: 'github',
        persona: who.id,
        outcome: 'refused',
        reason: 'code_verifier does not match code_challenge',
      },
    ]);
  });
});

describe('state checks on the callback', () => {
  it('refuses a forged state (never issued): 403, no session, no provider call', async () => {
    const browser = new Browser();
    const authorize = await start(browser, 'github');
    const who = await persona();
    const back = await atProvider(authorize, who);
    const forged = new URL(back);
    forged.searchParams.set('state', 'A'.repeat(43));
    browser.cookies.set('igris.oauth_state', 'A'.repeat(43)); // even with a matching cookie
    const res = await callback(browser, forged);
    await expectApiError(res, 403, 'csrf_failed');
    expect(browser.sessionToken).toBeUndefined();
    // The code the provider issued for this persona was never redeemed.
    expect(await tokenLog(who.id)).toEqual([]);
  });

  it('refuses a reused state: the callback works once', async () => {
    const who = await persona();
    const { res, browser, back } = await signInWith('github', who);
    expect(res.status).toBe(302);
    const replay = new Browser();
    replay.cookies.set('igris.oauth_state', back.searchParams.get('state')!);
    await expectApiError(await callback(replay, back), 403, 'csrf_failed');
    expect(replay.sessionToken).toBeUndefined();
    expect(browser.sessionToken).toBeDefined();
  });

  it('refuses a state that belongs to another browser (login CSRF), and burns it', async () => {
    const attacker = new Browser();
    const authorize = await start(attacker, 'github');
    const back = await atProvider(authorize, await persona());
    const victim = new Browser();
    await expectApiError(await callback(victim, back), 403, 'csrf_failed');
    expect(victim.sessionToken).toBeUndefined();
    // The attacker cannot use it afterwards either: it was consumed.
    await expectApiError(await callback(attacker, back), 403, 'csrf_failed');
  });

  it('refuses an expired state and a state issued for the other provider', async () => {
    const browser = new Browser();
    const authorize = await start(browser, 'github');
    const back = await atProvider(authorize, await persona());
    const wrongProvider = new URL(back);
    wrongProvider.pathname = '/api/auth/oauth/google/callback';
    await expectApiError(await callback(browser, wrongProvider), 403, 'csrf_failed');

    const later = new Browser();
    const authorize2 = await start(later, 'github');
    await env.DB.prepare('UPDATE oauth_states SET expires_at = ?')
      .bind(Date.now() - 1)
      .run();
    const back2 = await atProvider(authorize2, await persona());
    await expectApiError(await callback(later, back2), 403, 'csrf_failed');
    expect(later.sessionToken).toBeUndefined();
  });
});

describe('Google (OIDC) sign-in', () => {
  it('verifies the id_token against the JWKS and signs in', async () => {
    const who = await persona({ id: `google-${randomId('s', 10)}`, name: 'Grace' });
    const browser = new Browser();
    const authorize = await start(browser, 'google');
    expect(authorize.searchParams.get('scope')).toBe('openid email profile');
    expect(authorize.searchParams.get('nonce')).toMatch(/^[A-Za-z0-9_-]{43}$/);
    const res = await callback(browser, await atProvider(authorize, who));
    expect(res.status).toBe(302);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome`);
    const session = await browser.session();
    expect(session.user).toMatchObject({ email: who.email, emailVerified: true, name: 'Grace' });
    const link = await env.DB.prepare(
      'SELECT user_id FROM oauth_accounts WHERE provider = ? AND provider_account_id = ?',
    )
      .bind('google', who.id)
      .first<{ user_id: string }>();
    expect(link?.user_id).toBe(session.user.id);
  });

  for (const flaw of ['foreign-key', 'wrong-audience', 'wrong-nonce', 'expired'] as const) {
    it(`refuses an id_token with a ${flaw}`, async () => {
      const who = await persona({ id: `google-${randomId('s', 10)}`, idTokenFlaw: flaw });
      const { res, browser } = await signInWith('google', who);
      expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=provider_error`);
      expect(browser.sessionToken).toBeUndefined();
      expect(await userByEmail(who.email)).toBeNull();
    });
  }

  it('refuses a Google identity whose email is not verified', async () => {
    const who = await persona({ id: `google-${randomId('s', 10)}`, emailVerified: false });
    const { res } = await signInWith('google', who);
    expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=email_unverified`);
    expect(await userByEmail(who.email)).toBeNull();
  });

  it('links Google and GitHub identities with the same verified email to one user', async () => {
    const email = uniqueEmail('both');
    const gh = await signInWith('github', await persona({ email }));
    const go = await signInWith('google', await persona({ id: `google-${randomId('s', 10)}`, email }));
    expect((await go.browser.session()).user.id).toBe((await gh.browser.session()).user.id);
    expect(go.browser.cookies.get(SESSION_COOKIE)).not.toBe(gh.browser.cookies.get(SESSION_COOKIE));
  });
});
