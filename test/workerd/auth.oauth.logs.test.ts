/**
 * What the log keeps of a sign-in provider's error answer (workers/lib/echo.remote.ts): against the
 * local fake GitHub / Google (test/workerd/auth.fake-provider.ts), a persona whose code the token
 * endpoint refuses with an error that quotes the form it was posted — the authorization code, the
 * PKCE verifier, the client secret. The sign-in fails as a provider error, and no log line carries
 * any of them; the line still says what the provider answered (its `error`).
 */
import { env } from 'cloudflare:workers';
import { afterAll, beforeAll, describe, expect, it, type MockInstance, vi } from 'vitest';
import { sha256Hex } from '../../workers/lib/hex';
import { randomId } from '../../workers/lib/ids';
import { Browser, DASHBOARD_ORIGIN, uniqueEmail } from './auth.helpers';

const FAKE = new URL(env.GOOGLE_TOKEN_URL).origin;

const logLines: string[] = [];
const spies: MockInstance[] = [];

beforeAll(() => {
  for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const) {
    const original = console[level].bind(console);
    spies.push(
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logLines.push(args.map(String).join(' '));
        original(...args);
      }),
    );
  }
});

afterAll(() => {
  for (const spy of spies) spy.mockRestore();
});

async function echoingPersona(): Promise<string> {
  const id = `echo-${randomId('p', 10)}`;
  const persona = { id, email: uniqueEmail('echo'), emailVerified: true, tokenError: 'echo' };
  const res = await fetch(`${FAKE}/_personas`, { method: 'POST', body: JSON.stringify(persona) });
  expect(res.status).toBe(201);
  return id;
}

describe('people sign-in: a provider error that echoes the request', () => {
  it.each(['github', 'google'] as const)(
    '%s: the log line names the error, never the code, verifier or client secret',
    async (provider) => {
      const browser = new Browser();
      const started = await browser.fetch(
        'GET',
        `/api/auth/oauth/${provider}/start?redirectTo=${encodeURIComponent(`${DASHBOARD_ORIGIN}/welcome`)}`,
      );
      expect(started.status).toBe(302);
      const authorize = new URL(started.headers.get('Location')!);
      const state = authorize.searchParams.get('state')!;
      const row = await env.DB.prepare('SELECT code_verifier FROM oauth_states WHERE state = ?')
        .bind(await sha256Hex(state))
        .first<{ code_verifier: string }>();
      const verifier = row!.code_verifier;

      authorize.searchParams.set('persona', await echoingPersona());
      const atProvider = await fetch(authorize, { redirect: 'manual' });
      expect(atProvider.status).toBe(302);
      const back = new URL(atProvider.headers.get('Location')!);
      const code = back.searchParams.get('code')!;

      const from = logLines.length;
      const res = await browser.fetch('GET', `${back.pathname}${back.search}`, { origin: null });
      expect(res.headers.get('Location')).toBe(`${DASHBOARD_ORIGIN}/welcome?auth_error=provider_error`);
      expect(browser.sessionToken).toBeUndefined();

      const lines = logLines.slice(from);
      const failed = lines.find((line) => line.includes('oauth sign-in failed'));
      expect(failed).toBeDefined();
      const secret = provider === 'github' ? env.GITHUB_CLIENT_SECRET : env.GOOGLE_CLIENT_SECRET;
      for (const sent of [code, verifier, secret]) {
        expect(sent.length).toBeGreaterThan(8);
        for (const line of lines) expect(line).not.toContain(sent);
      }
      // What the provider answered is still said.
      expect(JSON.parse(failed!)).toMatchObject({
        code: 'provider_error',
        internal: { what: 'token', error: 'invalid_grant' },
      });
    },
  );
});
