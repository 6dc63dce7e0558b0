/**
 * Upstream OAuth mode (docs/oauth.md#upstream-mode) for the members who have not linked yet, in real
 * headless Chromium against the shared stack and a local fake provider (test/shared/upstream-oauth.fake.ts):
 *
 * - the Connections list marks an upstream-mode connection the viewer has not linked ("not linked"
 *   and a Link account action leading to its page), and only for the viewer: another member's link
 *   changes nothing in it;
 * - a developer the connection is shared with (`settings.sharedWith`) finds it in their Connections
 *   list, marked "shared with you" (and "not linked"), with nothing of how it is run and no action
 *   but copying its URL, and opens it from there; a developer it is not shared with does not;
 * - a developer the connection is shared with (`settings.sharedWith`) opens its page — the gateway
 *   URL, the snippets and their own account card — without its details, policy, activity or any
 *   control to change it, and links their account there; a developer it is not shared with cannot
 *   open it.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { startUpstreamOAuthFake, UPSTREAM_OAUTH_CLIENT } from '../shared/upstream-oauth.fake';
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

const run = crypto.randomUUID().slice(0, 8);
const slug = `up-shared-${run}`;
const plainSlug = `plain-${run}`;

let fake: Awaited<ReturnType<typeof startUpstreamOAuthFake>>;
let provider = '';
const owner: { person: Owner; session?: Session; browser?: Browser } = { person: newOwner() };
const sharee: { person: Owner; session?: Session; browser?: Browser } = { person: newOwner() };
const stranger: { person: Owner; session?: Session; browser?: Browser } = { person: newOwner() };
/** Every /api answer the sharee's browser read. */
const shareeBodies: string[] = [];

/** `person` invited by the owner as a developer (the token comes by mail) and signed up into the organization. */
async function joinAsDeveloper(person: Owner): Promise<Session> {
  await asSession(
    owner.session!,
    'POST',
    '/api/auth/invitations',
    { email: person.email, role: 'developer' },
    201,
  );
  const mail = latestMail(inject('persistTo'), person.email);
  const token = /accept-invitation\?token=(\S+)/.exec(mail?.body ?? '')?.[1];
  if (!token) throw new Error(`no invitation mailed to ${person.email}`);
  return signUpOwner(person, { invitationToken: decodeURIComponent(token) });
}

beforeAll(async () => {
  fake = await startUpstreamOAuthFake();
  provider = new URL(fake.url).host;
  owner.session = await signUpOwner(owner.person, { organizationName: `Upstream shared ${run}` });
  sharee.session = await joinAsDeveloper(sharee.person);
  stranger.session = await joinAsDeveloper(stranger.person);
  const { members } = await asOwner<{ members: Array<{ userId: string; email: string }> }>(
    owner.session,
    'GET',
    '/members',
    undefined,
    200,
  );
  const shareeId = members.find((m) => m.email === sharee.person.email)?.userId;
  if (!shareeId) throw new Error('the sharee is not listed among the members');
  await asOwner(
    owner.session,
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
        sharedWith: [shareeId],
      },
    },
    201,
  );
  await asOwner(
    owner.session,
    'POST',
    '/connections',
    {
      slug: plainSlug,
      name: plainSlug,
      upstreamUrl: `${inject('upstreamUrl')}/mcp`,
      credential: 'plain-secret',
    },
    201,
  );
  owner.browser = await signedInAs(owner.person);
}, 120_000);

afterAll(async () => {
  await owner.browser?.close();
  await sharee.browser?.close();
  await stranger.browser?.close();
  await fake?.close();
});

/** The sharee's browser, signed in once; every /api answer it reads is kept in shareeBodies. */
async function shareeBrowser(): Promise<Browser> {
  if (sharee.browser) return sharee.browser;
  sharee.browser = await signedInAs(sharee.person);
  sharee.browser.page.on('response', (res) => {
    if (!new URL(res.url()).pathname.startsWith('/api/')) return;
    void res
      .text()
      .then((body) => shareeBodies.push(body))
      .catch(() => undefined);
  });
  return sharee.browser;
}

/** The owner's Connections list, freshly loaded; `row(slug)` is one connection's row. */
async function ownerList() {
  const page = owner.browser!.page;
  await page.goto(url('/connections'));
  await page.getByRole('table', { name: 'Connections' }).waitFor();
  return (s: string) => page.getByTestId(`connection-row-${s}`);
}

describe('Upstream links not made yet, and a connection shared with a developer (real Chromium)', () => {
  it('the list marks the upstream-mode connection the viewer has not linked, and leads to its page', async () => {
    const row = await ownerList();
    const marker = row(slug).getByTestId(`upstream-not-linked-${slug}`);
    await marker.waitFor();
    expect(await marker.getByText('not linked').count()).toBe(1);
    // Not in upstream mode: nothing to link, no mark.
    await row(plainSlug).waitFor();
    expect(await row(plainSlug).getByTestId(`upstream-not-linked-${plainSlug}`).count()).toBe(0);
    await screenshot(owner.browser!.page, 'connections-not-linked');
    await marker.getByRole('link', { name: `Link your account for ${slug}` }).click();
    await owner.browser!.page.waitForURL(url(`/connections/${slug}`));
    const card = owner.browser!.page.getByRole('region', { name: `Your account at ${provider}` });
    await expect.poll(() => card.getByTestId('upstream-link-status').textContent()).toBe('not linked');
  });

  it('the sharee’s list holds the connection, marked shared with you, and its row opens the shared view', async () => {
    const browser = await shareeBrowser();
    const page = browser.page;
    await page.goto(url('/connections'));
    await page.getByRole('table', { name: 'Connections' }).waitFor();
    const row = page.getByTestId(`connection-row-${slug}`);
    await row.waitFor();
    expect(await row.getByTestId(`connection-shared-${slug}`).getByText('shared with you').count()).toBe(1);
    expect(await row.getByTestId(`upstream-not-linked-${slug}`).getByText('not linked').count()).toBe(1);
    expect(await row.locator('code').textContent()).toBe(url(`/v1/mcp/${slug}`));
    // Nothing of how it is run (auth, activity, health: dashes) and no action but copying its URL.
    expect(await row.locator('td.muted').allTextContents()).toEqual(['—', '—', '—']);
    expect(await row.getByRole('button').allTextContents()).toEqual(['Copy URL']);
    // Only the connection shared with them: the owner's other one is not theirs.
    expect(await page.getByTestId(`connection-row-${plainSlug}`).count()).toBe(0);
    await screenshot(page, 'connections-shared-with-you');
    await row.getByRole('link', { name: slug, exact: true }).click();
    await page.waitForURL(url(`/connections/${slug}`));
    await page.getByTestId('connection-shared').waitFor();
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('the owner’s row is not marked shared; a developer it is not shared with does not see it listed', async () => {
    const row = await ownerList();
    await row(slug).waitFor();
    expect(await row(slug).getByTestId(`connection-shared-${slug}`).count()).toBe(0);
    stranger.browser = await signedInAs(stranger.person);
    const page = stranger.browser.page;
    await page.goto(url('/connections'));
    await page.getByText('No connections yet').waitFor();
    expect(await page.getByTestId(`connection-row-${slug}`).count()).toBe(0);
  });

  it('the sharee opens the page: gateway URL, snippets and their account card, nothing to change; they link there', async () => {
    const browser = await shareeBrowser();
    const page = browser.page;
    await page.goto(url(`/connections/${slug}`));
    await page.getByTestId('connection-shared').waitFor();
    const card = page.getByRole('region', { name: `Your account at ${provider}` });
    await expect.poll(() => card.getByTestId('upstream-link-status').textContent()).toBe('not linked');
    expect(await page.getByTestId('gateway-url').textContent()).toBe(url(`/v1/mcp/${slug}`));
    await page.getByRole('tab', { name: 'Cursor / MCP JSON' }).waitFor();
    // Nothing they may not do or see: no operator actions, no policy, details or activity.
    for (const name of ['Rotate credential', 'Disable', 'Enable', 'Delete', 'Save']) {
      expect(await page.getByRole('button', { name, exact: true }).count(), name).toBe(0);
    }
    expect(await page.getByRole('link', { name: 'Policy', exact: true }).count()).toBe(0);
    for (const heading of ['Details', 'Recent activity', 'OAuth sign-in']) {
      expect(await page.getByRole('heading', { name: heading }).count(), heading).toBe(0);
    }
    expect(await page.getByRole('tab', { name: 'Tools' }).count()).toBe(0);
    await screenshot(page, 'connection-shared-view');

    // Link account → the provider's consent → the gateway's answer → back to this page.
    await card.getByRole('link', { name: 'Link account' }).click();
    await page
      .getByRole('heading', { name: `Allow ${UPSTREAM_OAUTH_CLIENT.clientId} to use your account?` })
      .waitFor();
    await page.getByLabel('Account').fill('carol');
    await page.getByRole('button', { name: 'Allow' }).click();
    await page.getByRole('heading', { level: 1, name: 'Connected' }).waitFor();
    await page.getByRole('link', { name: `Back to ${slug} in the dashboard` }).click();
    await page.waitForURL(url(`/connections/${slug}`));
    const back = page.getByRole('region', { name: `Your account at ${provider}` });
    await expect.poll(() => back.getByTestId('upstream-link-status').textContent()).toBe('linked');
    await page.getByTestId('connection-shared').waitFor();

    // What reached the sharee's browser: never the upstream's address, the client id or a token.
    expect(shareeBodies.length).toBeGreaterThan(0);
    for (const secret of [
      `${fake.url}/mcp`,
      UPSTREAM_OAUTH_CLIENT.clientId,
      UPSTREAM_OAUTH_CLIENT.clientSecret,
    ]) {
      expect(shareeBodies.filter((body) => body.includes(secret))).toEqual([]);
    }
    expect(shareeBodies.filter((body) => /\b[ar]t-carol-\d+-/.test(body))).toEqual([]);
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('the sharee’s link changes nothing in the owner’s list: the owner is still not linked', async () => {
    const row = await ownerList();
    await row(slug).getByTestId(`upstream-not-linked-${slug}`).waitFor();
    expect(owner.browser!.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });

  it('a developer it is not shared with cannot open the page', async () => {
    stranger.browser ??= await signedInAs(stranger.person);
    const page = stranger.browser.page;
    await page.goto(url(`/connections/${slug}`));
    await page.getByText('Could not load this connection').waitFor();
    expect(await page.getByRole('region', { name: `Your account at ${provider}` }).count()).toBe(0);
    expect(await page.getByTestId('gateway-url').count()).toBe(0);
  });
});
