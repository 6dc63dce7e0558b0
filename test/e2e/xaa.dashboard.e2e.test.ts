/**
 * Cross App Access on the dashboard's OAuth apps screen, in real headless Chromium (issue 18's
 * "Not yet", docs/oauth.md#cross-app-access-experimental): on a stack of its own with
 * CROSS_APP_ACCESS=on, an owner trusts an identity provider through the form (an http issuer is
 * refused at its field first), revokes a subject, sees the exchange counts, and stops trusting the
 * issuer — each checked against the API, and a developer's key sees none of it. On the shared stack,
 * where the flag is off, the section says so instead of offering forms.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  freePort,
  newApiKey,
  newEncryptionKey,
  type RunningStack,
  startStack,
} from '../../scripts/local-stack';
import { type Browser, signedInBrowser } from './browser';

const adminApiKey = newApiKey();
const persistTo = mkdtempSync(path.join(os.tmpdir(), 'igris-xaa-ui-'));
const ISSUER = 'https://idp.example.com';
let stack: RunningStack;
let base = '';

async function api<T>(key: string, method: string, route: string, body?: unknown): Promise<T> {
  const res = await fetch(`${base}/api/v1${route}`, {
    method,
    headers: { Authorization: `Bearer ${key}`, ...(body ? { 'Content-Type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${route}: ${res.status} ${text}`);
  return (text ? JSON.parse(text) : null) as T;
}

beforeAll(async () => {
  stack = await startStack({
    port: await freePort(),
    persistTo,
    adminApiKey,
    encryptionKey: newEncryptionKey(),
    vars: { CROSS_APP_ACCESS: 'on' },
    demoUpstream: false,
  });
  base = stack.gatewayUrl;
}, 300_000);

afterAll(async () => {
  await stack?.stop();
  rmSync(persistTo, { recursive: true, force: true });
});

describe('Cross App Access on the OAuth apps screen', () => {
  let browser: Browser | null = null;
  afterAll(async () => browser?.close());

  it('trusts an issuer, revokes a subject and stops trusting it, as the API then reports', async () => {
    browser = await signedInBrowser(adminApiKey, base);
    const { page } = browser;
    await page.goto(`${base}/oauth-apps`);
    const section = page.getByRole('region', { name: 'Cross App Access (experimental)' });
    await section.getByText('No identity provider is trusted').waitFor();
    await expect(section.getByTestId('xaa-stats').textContent()).resolves.toMatch(
      /0 exchange\(s\), 0 refused/,
    );

    const form = section.getByRole('form', { name: 'Trust an identity provider' });
    // The API's refusal lands at its field: issuers are https only.
    await form.getByLabel('Issuer').fill('http://idp.example.com');
    await form.getByLabel('JWKS URL').fill(`${ISSUER}/jwks`);
    await form.getByLabel('Allowed clients').fill('client-a\nclient-b');
    await form.getByRole('button', { name: 'Trust issuer' }).click();
    await form.locator(`#${await form.getByLabel('Issuer').getAttribute('id')}-error`).waitFor();
    expect((await api<{ issuers: unknown[] }>(adminApiKey, 'GET', '/xaa/issuers')).issuers).toHaveLength(0);

    await form.getByLabel('Issuer').fill(ISSUER);
    await form.getByLabel('Signing algorithm').selectOption('ES256');
    await form.getByRole('button', { name: 'Trust issuer' }).click();
    const table = section.getByRole('table', { name: 'Trusted identity providers' });
    await table.getByText(ISSUER, { exact: true }).waitFor();
    const { issuers } = await api<{ issuers: Array<Record<string, unknown>> }>(
      adminApiKey,
      'GET',
      '/xaa/issuers',
    );
    expect(issuers).toMatchObject([
      { issuer: ISSUER, jwksUri: `${ISSUER}/jwks`, algorithms: ['ES256'], clients: ['client-a', 'client-b'] },
    ]);

    const revoke = section.getByRole('form', { name: 'Revoke an assertion or a subject' });
    await revoke.getByLabel('Revoke', { exact: true }).selectOption('subject');
    await revoke.getByLabel('Subject (sub)').fill('idp-user-42');
    await revoke.getByRole('button', { name: 'Revoke' }).click();
    await section.getByRole('table', { name: 'Revocations' }).getByText('idp-user-42').waitFor();
    const { revocations } = await api<{ revocations: unknown[] }>(adminApiKey, 'GET', '/xaa/revocations');
    expect(revocations).toMatchObject([{ issuer: ISSUER, kind: 'subject', value: 'idp-user-42' }]);

    await table.getByRole('button', { name: 'Stop trusting' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Stop trusting' }).click();
    await section.getByText('No identity provider is trusted').waitFor();
    expect((await api<{ issuers: unknown[] }>(adminApiKey, 'GET', '/xaa/issuers')).issuers).toHaveLength(0);
    expect(browser.errors.filter((e) => !/status of 400/.test(e))).toEqual([]);
  });

  it("is not shown to a developer's key", async () => {
    const developer = await api<{ key: string }>(adminApiKey, 'POST', '/api-keys', {
      name: 'developer ui',
      role: 'developer',
    });
    const developerBrowser = await signedInBrowser(developer.key, base);
    try {
      await developerBrowser.page.goto(`${base}/oauth-apps`);
      await developerBrowser.page.getByText('Owners and admins only').waitFor();
      expect(
        await developerBrowser.page.getByRole('region', { name: 'Cross App Access (experimental)' }).count(),
      ).toBe(0);
    } finally {
      await developerBrowser.close();
    }
  });
});

describe('Cross App Access off (the shared stack)', () => {
  it('says it is off instead of offering forms', async () => {
    const shared = await signedInBrowser();
    try {
      await shared.page.goto(`${new URL(shared.page.url()).origin}/oauth-apps`);
      const section = shared.page.getByRole('region', { name: 'Cross App Access (experimental)' });
      await section.getByTestId('xaa-off').waitFor();
      expect(await section.getByRole('form').count()).toBe(0);
    } finally {
      await shared.close();
    }
  });
});
