/**
 * A member's own upstream account on a connection in OAuth upstream mode (docs/oauth.md#upstream-mode),
 * in real headless Chromium against the shared stack and a local fake provider
 * (test/shared/upstream-oauth.fake.ts, whose /authorize is a consent page when the browser names
 * no account): the panel "Your account at <provider>" says "not linked"; "Link account" goes to the
 * gateway, the provider's consent and back, and the panel says linked, with expiry and scope;
 * "Unlink" (confirmed) says "not linked" again. A second member of the organization sees their own
 * link, not the first member's, and unlinking theirs leaves the first one's. No token reaches the
 * dashboard, though a real one is stored and used on calls.
 */
import type { Page, Response as PageResponse } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  startUpstreamOAuthFake,
  UPSTREAM_OAUTH_CLIENT,
  type UpstreamOAuthLogEntry,
} from '../shared/upstream-oauth.fake';
import { type Browser, latestMail, screenshot } from './browser';
import {
  asOwner,
  asSession,
  newOwner,
  type Owner,
  type Session,
  signedInAs,
  signUpOwner,
  url,
} from './dashboard.journey';
import { connectClient } from './helpers';

const run = crypto.randomUUID().slice(0, 8);
const slug = `up-ui-${run}`;
/** What the fake provider's tokens look like for a persona (`at-alice-3-…`, `rt-alice-3-…`). */
const tokenOf = (persona: string) => new RegExp(`\\b[ar]t-${persona}-\\d+-`);

let fake: Awaited<ReturnType<typeof startUpstreamOAuthFake>>;
let provider = '';
const first: { owner: Owner; session?: Session; key?: string; browser?: Browser } = { owner: newOwner() };
const second: { owner: Owner; session?: Session; browser?: Browser } = { owner: newOwner() };
/** Every /api answer either browser read, to show that none carries a token. */
const apiBodies: string[] = [];

interface Link {
  connection: string;
  linked: boolean;
  connectUrl: string;
  expiresAt: string | null;
  scope: string | null;
  linkedAt: string | null;
}

function recordApi(page: Page): void {
  page.on('response', (res: PageResponse) => {
    if (!new URL(res.url()).pathname.startsWith('/api/')) return;
    void res
      .text()
      .then((body) => apiBodies.push(body))
      .catch(() => undefined);
  });
}

/** The panel, on the connection's page. */
async function panel(page: Page) {
  await page.goto(url(`/connections/${slug}`));
  const region = page.getByRole('region', { name: `Your account at ${provider}` });
  await region.waitFor().catch(async (err: Error) => {
    throw new Error(
      `${err.message}; the page shows: ${((await page.locator('main').textContent()) ?? '').slice(0, 600)}`,
    );
  });
  return region;
}

/** Link account → the provider's consent, as `persona` → the gateway's answer → back to the dashboard. */
async function linkInBrowser(page: Page, persona: string) {
  const region = await panel(page);
  await region.getByRole('link', { name: 'Link account' }).click();
  await page
    .getByRole('heading', { name: `Allow ${UPSTREAM_OAUTH_CLIENT.clientId} to use your account?` })
    .waitFor();
  expect(new URL(page.url()).origin).toBe(fake.url);
  await page.getByLabel('Account').fill(persona);
  await page.getByRole('button', { name: 'Allow' }).click();
  await page.getByRole('heading', { level: 1, name: 'Connected' }).waitFor();
  await page.getByRole('link', { name: `Back to ${slug} in the dashboard` }).click();
  await page.waitForURL(url(`/connections/${slug}`));
  const back = page.getByRole('region', { name: `Your account at ${provider}` });
  await back.waitFor();
  return back;
}

/** `person` invited by the first member (the token comes by mail) and signed up into the organization. */
async function joinAs(person: Owner, role: 'admin' | 'auditor'): Promise<Session> {
  await asSession(first.session!, 'POST', '/api/auth/invitations', { email: person.email, role }, 201);
  const mail = latestMail(inject('persistTo'), person.email);
  const token = /accept-invitation\?token=(\S+)/.exec(mail?.body ?? '')?.[1];
  if (!token) throw new Error(`no invitation mailed to ${person.email}`);
  return signUpOwner(person, { invitationToken: decodeURIComponent(token) });
}

beforeAll(async () => {
  fake = await startUpstreamOAuthFake();
  provider = new URL(fake.url).host;
  first.session = await signUpOwner(first.owner, { organizationName: `Upstream UI ${run}` });
  first.key = (
    await asOwner<{ key: string }>(
      first.session,
      'POST',
      '/api-keys',
      { name: 'mine', role: 'developer' },
      201,
    )
  ).key;
  await asOwner(
    first.session,
    'POST',
    '/connections',
    {
      slug,
      name: slug,
      upstreamUrl: `${fake.url}/mcp`,
      authType: 'bearer',
      credential: UPSTREAM_OAUTH_CLIENT.clientSecret,
      settings: {
        upstreamOAuth: { issuer: fake.url, clientId: UPSTREAM_OAUTH_CLIENT.clientId, scopes: ['mcp:tools'] },
      },
    },
    201,
  );
  await asOwner(
    first.session,
    'PUT',
    `/connections/${slug}/policy`,
    { rules: [{ tool: '*', action: 'allow' }] },
    200,
  );

  // The second member: an admin (who may use every connection; a developer it is shared with may
  // use it too, but reads only their own connections' pages).
  second.session = await joinAs(second.owner, 'admin');

  first.browser = await signedInAs(first.owner);
  recordApi(first.browser.page);
}, 120_000);

afterAll(async () => {
  await first.browser?.close();
  await second.browser?.close();
  await fake?.close();
});

describe('Your account at the upstream provider (real Chromium)', () => {
  it('shows not linked, links through the provider’s consent and back, then unlinks', async () => {
    const page = first.browser!.page;
    const region = await panel(page);
    await expect.poll(() => region.getByTestId('upstream-link-status').textContent()).toBe('not linked');
    await expect(region.getByRole('button', { name: 'Unlink' }).count()).resolves.toBe(0);

    const linked = await linkInBrowser(page, 'alice');
    await expect.poll(() => linked.getByTestId('upstream-link-status').textContent()).toBe('linked');
    // The fake provider grants an hour: the expiry is shown as a date, about an hour from now.
    const expires = linked.getByTestId('upstream-link-expires').locator('time');
    const expiresAt = Date.parse((await expires.getAttribute('datetime')) ?? '');
    expect(expiresAt - Date.now()).toBeGreaterThan(50 * 60_000);
    expect(expiresAt - Date.now()).toBeLessThanOrEqual(3600_000);
    expect(await expires.textContent()).toMatch(/\d{4}/);
    await linked.getByText('mcp:tools').waitFor();
    await screenshot(page, 'connection-upstream-account');

    // The link is real: a call with the member's own key reaches the upstream with alice's token.
    const { client } = await connectClient(slug, {}, first.key!);
    const who = await client.callTool({ name: 'whoami', arguments: {} });
    await client.close();
    expect(who.content).toEqual([{ type: 'text', text: 'alice' }]);
    const log = (await (await fetch(`${fake.url}/_log`)).json()) as UpstreamOAuthLogEntry[];
    expect(log.some((e) => e.at === 'mcp' && tokenOf('alice').test(e.token ?? ''))).toBe(true);
    // …and it never reached the dashboard: the API's answer is exactly the link's description.
    const answer = await asOwner<Link>(
      first.session!,
      'GET',
      `/connections/${slug}/upstream-oauth`,
      undefined,
      200,
    );
    expect(Object.keys(answer).sort()).toEqual([
      'connectUrl',
      'connection',
      'expiresAt',
      'linked',
      'linkedAt',
      'scope',
    ]);
    expect(answer).toMatchObject({ connection: slug, linked: true, scope: 'mcp:tools' });
    expect(apiBodies.length).toBeGreaterThan(0);
    expect(apiBodies.filter((body) => tokenOf('alice').test(body))).toEqual([]);

    await linked.getByRole('button', { name: 'Unlink' }).click();
    const dialog = page.getByRole('dialog', { name: `Unlink your account at ${provider}?` });
    await dialog.getByRole('button', { name: 'Unlink account' }).click();
    await expect.poll(() => linked.getByTestId('upstream-link-status').textContent()).toBe('not linked');
    await linked.getByRole('link', { name: 'Link account' }).waitFor();
    const audit = await asOwner<{ events: Array<{ details: { connectionSlug?: string } }> }>(
      first.session!,
      'GET',
      '/audit-events?action=auth.oauth_upstream_unlink',
      undefined,
      200,
    );
    expect(audit.events.map((e) => e.details.connectionSlug)).toContain(slug);
    expect(first.browser!.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('a second member sees their own link, not the first member’s, and unlinking theirs leaves the first', async () => {
    // The first member links again (in their browser), then the second opens the same page.
    await linkInBrowser(first.browser!.page, 'alice');
    second.browser = await signedInAs(second.owner);
    recordApi(second.browser.page);
    const page = second.browser.page;
    const region = await panel(page);
    await expect.poll(() => region.getByTestId('upstream-link-status').textContent()).toBe('not linked');

    const linked = await linkInBrowser(page, 'bob');
    await expect.poll(() => linked.getByTestId('upstream-link-status').textContent()).toBe('linked');
    const mine = await asOwner<Link>(
      second.session!,
      'GET',
      `/connections/${slug}/upstream-oauth`,
      undefined,
      200,
    );
    const theirs = await asOwner<Link>(
      first.session!,
      'GET',
      `/connections/${slug}/upstream-oauth`,
      undefined,
      200,
    );
    expect([mine.linked, theirs.linked]).toEqual([true, true]);

    await linked.getByRole('button', { name: 'Unlink' }).click();
    await page
      .getByRole('dialog', { name: `Unlink your account at ${provider}?` })
      .getByRole('button', { name: 'Unlink account' })
      .click();
    await expect.poll(() => linked.getByTestId('upstream-link-status').textContent()).toBe('not linked');
    // The first member's link is untouched, in their own browser too.
    const still = await panel(first.browser!.page);
    await expect.poll(() => still.getByTestId('upstream-link-status').textContent()).toBe('linked');
    expect(apiBodies.filter((body) => tokenOf('alice').test(body) || tokenOf('bob').test(body))).toEqual([]);
    expect(second.browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('an auditor, who may not call the connection, is told there is nothing to link', async () => {
    const auditor = newOwner();
    await joinAs(auditor, 'auditor');
    const browser = await signedInAs(auditor);
    try {
      const region = await panel(browser.page);
      await expect
        .poll(() => region.getByTestId('upstream-link-status').textContent())
        .toBe('Your role may not call this connection, so it holds no account of yours to link.');
      expect(await region.getByRole('link', { name: 'Link account' }).count()).toBe(0);
      expect(await region.getByRole('alert').count()).toBe(0);
    } finally {
      await browser.close();
    }
  });
});
