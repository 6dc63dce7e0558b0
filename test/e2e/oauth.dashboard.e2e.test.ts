/**
 * The OAuth apps screen and a connection's OAuth settings in real headless Chromium, against the
 * shared stack (issue 18): a person signs in to the dashboard with a password, approves an MCP
 * client on the consent page in the browser, sees the grant (app, person, connection, when) on
 * "OAuth apps", revokes it there — and the app's token stops at once. Turning OAuth off on the
 * connection's page refuses the next token.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, launchBrowser, screenshot } from './browser';
import { gatewayUrl } from './helpers';
import { signUp } from './sign-up.fixtures';

const run = randomBytes(4).toString('hex');
const slug = `oauth-ui-${run}`;
const email = `oauth-ui-${run}@example.test`;
const password = 'correct horse battery staple';
const REDIRECT = 'http://127.0.0.1:3998/oauth/callback';
const APP_NAME = `Dashboard e2e app ${run}`;

let browser: Browser;
let page: Page;
let person = { cookie: '', csrf: '' };
let clientId = '';

const origin = () => new URL(gatewayUrl()).origin;

async function asPerson(method: string, path: string, body?: unknown): Promise<Response> {
  return fetch(`${gatewayUrl()}${path}`, {
    method,
    headers: {
      Cookie: person.cookie,
      'X-CSRF-Token': person.csrf,
      Origin: origin(),
      ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
}

async function must(res: Response, status: number, what: string): Promise<unknown> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : null;
}

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/** The consent step in the browser: open the authorization URL, allow, catch the redirect's code. */
async function consentInBrowser(): Promise<{ code: string; verifier: string }> {
  const verifier = b64url(randomBytes(32));
  const challenge = b64url(
    new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(verifier))),
  );
  const url = new URL(`${gatewayUrl()}/api/oauth/authorize`);
  url.search = new URLSearchParams({
    response_type: 'code',
    client_id: clientId,
    redirect_uri: REDIRECT,
    state: `s-${run}`,
    scope: 'gateway:call offline_access',
    resource: `${gatewayUrl()}/v1/mcp/${slug}`,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  // Nothing listens on the app's loopback port: the browser's arrival there is the answer.
  await page.route(`${REDIRECT}**`, (route) =>
    route.fulfill({ status: 200, contentType: 'text/plain', body: 'signed in, back to the app' }),
  );
  await page.goto(url.toString());
  await page.getByRole('heading', { name: new RegExp(`Allow ${APP_NAME}`) }).waitFor();
  const arrival = page.waitForRequest((req) => req.url().startsWith(REDIRECT), { timeout: 30_000 });
  await page.getByRole('button', { name: 'Allow' }).click();
  const back = new URL(
    (
      await arrival.catch(async (err: Error) => {
        // Say what the browser shows instead (a refusal page names its reason).
        throw new Error(
          `${err.message}; at ${page.url()}: ${(await page.locator('body').innerText()).slice(0, 500)}`,
        );
      })
    ).url(),
  );
  await page.unroute(`${REDIRECT}**`);
  expect(back.searchParams.get('iss')).toBe(origin());
  return { code: back.searchParams.get('code') ?? '', verifier };
}

async function tokenFor(code: string, verifier: string): Promise<string> {
  const res = await fetch(`${gatewayUrl()}/token`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      code,
      code_verifier: verifier,
      client_id: clientId,
      redirect_uri: REDIRECT,
      resource: `${gatewayUrl()}/v1/mcp/${slug}`,
    }).toString(),
  });
  return ((await must(res, 200, 'token')) as { access_token: string }).access_token;
}

async function callWith(token: string): Promise<number> {
  const res = await fetch(`${gatewayUrl()}/v1/mcp/${slug}`, {
    method: 'POST',
    headers: {
      Authorization: `Bearer ${token}`,
      'Content-Type': 'application/json',
      Accept: 'application/json, text/event-stream',
    },
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list', params: {} }),
  });
  await res.body?.cancel();
  return res.status;
}

describe('OAuth apps screen (real Chromium)', () => {
  beforeAll(async () => {
    const { cookie, csrf } = await signUp({ email, password, organizationName: `OAuth UI ${run}` });
    person = { cookie, csrf };
    await must(
      await asPerson('POST', '/api/v1/connections', {
        slug,
        name: slug,
        upstreamUrl: `${inject('upstreamUrl')}/stateless`,
        authType: 'none',
      }),
      201,
      'connection',
    );
    await must(
      await asPerson('PUT', `/api/v1/connections/${slug}/policy`, {
        rules: [{ tool: '*', action: 'allow' }],
      }),
      200,
      'policy',
    );
    const registered = await fetch(`${gatewayUrl()}/register`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({
        client_name: APP_NAME,
        redirect_uris: [REDIRECT],
        token_endpoint_auth_method: 'none',
      }),
    });
    clientId = ((await must(registered, 201, 'register')) as { client_id: string }).client_id;

    browser = await launchBrowser();
    page = browser.page;
    await page.goto(`${gatewayUrl()}/`);
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('lists the grant a person made in the browser, with who and when, and revokes it', async () => {
    const { code, verifier } = await consentInBrowser();
    const token = await tokenFor(code, verifier);
    expect(await callWith(token)).toBe(200);

    await page.goto(`${gatewayUrl()}/oauth-apps`);
    await page.getByRole('heading', { level: 1, name: 'OAuth apps' }).waitFor();
    const grants = page.getByRole('table', { name: 'OAuth grants' });
    const row = grants.getByRole('row').filter({ hasText: APP_NAME });
    await row.getByText(email).waitFor();
    await row.getByRole('link', { name: slug }).waitFor();
    await row.getByText('gateway:call').waitFor();
    const apps = page.getByRole('table', { name: 'OAuth apps' });
    await apps.getByRole('row').filter({ hasText: APP_NAME }).getByText('127.0.0.1:3998').waitFor();
    await screenshot(page, 'oauth-apps');

    await row.getByRole('button', { name: 'Revoke' }).click();
    await page.getByRole('button', { name: 'Revoke grant' }).click();
    await page.getByText('No active grants').waitFor();
    expect(await callWith(token)).toBe(401);
    // The revocation is on the audit trail, by the person who clicked.
    const audit = (await must(
      await asPerson('GET', '/api/v1/audit-events?action=auth.oauth_revoke'),
      200,
      'audit',
    )) as { events: Array<{ details: { by: string; clientId: string } }> };
    expect(audit.events).toContainEqual(
      expect.objectContaining({ details: expect.objectContaining({ by: 'admin', clientId }) }),
    );
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it("turns OAuth off on the connection's page: the next token is refused, keys keep working", async () => {
    const { code, verifier } = await consentInBrowser();
    const token = await tokenFor(code, verifier);
    expect(await callWith(token)).toBe(200);

    await page.goto(`${gatewayUrl()}/connections/${slug}`);
    const section = page.getByRole('region', { name: 'OAuth sign-in' });
    await section.getByLabel('Allow OAuth sign-in for this connection').uncheck();
    await section.getByRole('button', { name: 'Save OAuth settings' }).click();
    await page.getByText(`OAuth settings of ${slug} saved`).waitFor();
    const connection = (await must(
      await asPerson('GET', `/api/v1/connections/${slug}`),
      200,
      'connection',
    )) as {
      settings: { oauth?: { enabled: boolean } };
    };
    expect(connection.settings.oauth?.enabled).toBe(false);
    expect(await callWith(token)).toBe(403);
  });
});
