/**
 * Links in mails (password reset, invitation) never come from the request's Host header
 * (issue 12, item 8): they are built on DASHBOARD_ORIGINS' first entry or PUBLIC_BASE_URL, and in
 * production without either no mail is sent (503 mail_not_configured, logged) and nothing is
 * recorded. Development and tests, with nothing configured, keep using the request's origin.
 *
 * Production is the same Worker called with ENVIRONMENT=production and the two variables emptied.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { afterEach, describe, expect, it, vi } from 'vitest';
import worker from '../../workers/index';
import { Browser, latestMail, uniqueEmail } from './auth.helpers';
import { BASE, expectApiError, expectJson } from './helpers';

type EnvOverride = Partial<Record<'ENVIRONMENT' | 'DASHBOARD_ORIGINS' | 'PUBLIC_BASE_URL', string>>;

const PRODUCTION_UNCONFIGURED: EnvOverride = {
  ENVIRONMENT: 'production',
  DASHBOARD_ORIGINS: '',
  PUBLIC_BASE_URL: '',
};

/** A request as `browser` would send it (cookie, Origin, CSRF token), to the Worker with `override`. */
async function send(
  override: EnvOverride,
  browser: Browser,
  method: string,
  url: string,
  body?: unknown,
): Promise<Response> {
  const headers = new Headers({ 'CF-Connecting-IP': browser.ip, 'Content-Type': 'application/json' });
  if (browser.cookies.size > 0) {
    headers.set('Cookie', [...browser.cookies].map(([k, v]) => `${k}=${v}`).join('; '));
  }
  if (browser.csrf) {
    headers.set('Origin', new URL(url).origin);
    headers.set('X-CSRF-Token', browser.csrf);
  }
  const ctx = createExecutionContext();
  const res = await worker.fetch(
    new Request(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }),
    { ...env, ...override } as Env,
    ctx,
  );
  await waitOnExecutionContext(ctx);
  return res;
}

async function resetRows(email: string): Promise<number> {
  const row = await env.DB.prepare(
    'SELECT COUNT(*) AS n FROM password_resets r JOIN users u ON u.id = r.user_id WHERE u.email = ?',
  )
    .bind(email)
    .first<{ n: number }>();
  return row!.n;
}

function captureLogs(): string[] {
  const lines: string[] = [];
  for (const level of ['log', 'info', 'warn', 'error'] as const) {
    vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
      lines.push(args.map(String).join(' '));
    });
  }
  return lines;
}

afterEach(() => {
  vi.restoreAllMocks();
});

describe('production without PUBLIC_BASE_URL or DASHBOARD_ORIGINS', () => {
  it('refuses a password reset with 503 mail_not_configured, logged, whether or not the account exists', async () => {
    const email = uniqueEmail('reset-prod');
    await new Browser().signUp(email);
    const logs = captureLogs();
    for (const who of [email, uniqueEmail('nobody')]) {
      const err = await expectApiError(
        await send(
          PRODUCTION_UNCONFIGURED,
          new Browser(),
          'POST',
          `http://evil.test/api/auth/password/reset`,
          {
            email: who,
          },
        ),
        503,
        'mail_not_configured',
      );
      expect(err.message).toMatch(/PUBLIC_BASE_URL/);
    }
    expect(await resetRows(email)).toBe(0);
    expect(logs.some((l) => l.includes('mail_not_configured'))).toBe(true);
  });

  it('refuses an invitation with 503 mail_not_configured and records no invitation', async () => {
    const owner = new Browser();
    await owner.signUp(uniqueEmail('inviter-prod'));
    const invitee = uniqueEmail('invitee-prod');
    await expectApiError(
      await send(PRODUCTION_UNCONFIGURED, owner, 'POST', `${BASE}/api/auth/invitations`, {
        email: invitee,
        role: 'developer',
      }),
      503,
      'mail_not_configured',
    );
    const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM invitations WHERE email = ?')
      .bind(invitee)
      .first<{ n: number }>();
    expect(row!.n).toBe(0);
  });

  it('with PUBLIC_BASE_URL set, the reset is accepted (the link no longer depends on Host)', async () => {
    const email = uniqueEmail('reset-prod-ok');
    await new Browser().signUp(email);
    const res = await send(
      { ...PRODUCTION_UNCONFIGURED, PUBLIC_BASE_URL: 'https://igris.example.com' },
      new Browser(),
      'POST',
      'http://evil.test/api/auth/password/reset',
      { email },
    );
    await expectJson(res, 202);
    expect(await resetRows(email)).toBe(1);
  });
});

describe('links point at the configured origin, never at the Host the request named', () => {
  it('uses the first DASHBOARD_ORIGINS entry for a request addressed to another host', async () => {
    const email = uniqueEmail('reset-host');
    await new Browser().signUp(email);
    await expectJson(
      await send({}, new Browser(), 'POST', 'http://evil.test/api/auth/password/reset', { email }),
      202,
    );
    const mail = await latestMail(email);
    expect(mail?.body).toContain('https://dashboard.test/reset-password?token=');
    expect(mail?.body).not.toContain('evil.test');
  });

  it('development with nothing configured keeps working from the request origin', async () => {
    const email = uniqueEmail('reset-dev');
    await new Browser().signUp(email);
    await expectJson(
      await send(
        { ENVIRONMENT: 'development', DASHBOARD_ORIGINS: '', PUBLIC_BASE_URL: '' },
        new Browser(),
        'POST',
        `${BASE}/api/auth/password/reset`,
        { email },
      ),
      202,
    );
    expect((await latestMail(email))?.body).toContain(`${BASE}/reset-password?token=`);
  });
});
