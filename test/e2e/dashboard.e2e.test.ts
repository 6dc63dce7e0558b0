/**
 * The dashboard in real headless Chromium against the shared stack (the local runtime + the demo MCP
 * server), driven like a security engineer would: sign up and in, create an API key and a
 * connection, write a policy and check the simulator. Each screen is saved to docs/screenshots.
 *
 * One journey in order: each step builds on the previous one's state (one organization per run).
 * It goes on in dashboard.observe.e2e.test.ts (a real MCP client's calls on Observe, the kill
 * switch, Audit) and dashboard.org.e2e.test.ts (LLM usage, members, settings, teams), which start
 * from the state these steps build, made through the API (dashboard.journey.ts).
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, launchBrowser, screenshot } from './browser';
import {
  agentUser,
  newOwner,
  openBrowser,
  org,
  pageHelpers,
  slug,
  UI_SETTLES,
  url,
} from './dashboard.journey';
import { adminKey } from './helpers';
import { clientAddress, signedUpFrom } from './sign-up.fixtures';

const owner = newOwner();

let browser: Browser;
let page: Page;
let apiKey = '';
const { open, heading, nav, card, toast } = pageHelpers(() => page);

describe('dashboard (real Chromium)', () => {
  beforeAll(async () => {
    browser = await openBrowser();
    page = browser.page;
  });

  afterAll(async () => {
    await browser?.close();
  });

  it('signs up, signs out and back in with a password; an API key signs a tab in as the fallback', async () => {
    await open('/');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await screenshot(page, 'sign-in');

    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByLabel('Name', { exact: true }).fill(owner.name);
    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill(owner.password);
    await page.getByLabel('Organization name').fill(org);
    await screenshot(page, 'sign-up');
    await page.getByRole('button', { name: 'Create account' }).click();
    await heading('Observe');
    // Counted against this file's own address, as every e2e sign-up is (sign-up.fixtures.ts).
    expect(signedUpFrom(owner.email)).toBe(clientAddress());
    // A new, empty organization says what to do next.
    const getStarted = page.getByTestId('get-started');
    await getStarted.getByRole('link', { name: 'Create a connection' }).waitFor();
    await getStarted.getByRole('link', { name: 'Create an API key' }).waitFor();
    await getStarted.getByRole('link', { name: 'API reference' }).waitFor();
    expect(await page.locator('#org-switcher option:checked').textContent()).toContain(org);
    expect(await page.locator('.account-who').textContent()).toContain(owner.email);

    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();
    // Signed out for real: the API refuses the old cookie's session.
    await open('/connections');
    await page.getByRole('heading', { name: 'Sign in' }).waitFor();

    await page.getByLabel('Email').fill(owner.email);
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page
      .getByRole('alert')
      .filter({ hasText: /invalid|incorrect|wrong|credentials/i })
      .waitFor();
    await page.getByLabel('Password').fill(owner.password);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await heading('Connections'); // back where the person was going
    expect(await page.locator('#org-switcher option:checked').textContent()).toContain(org);

    // API key fallback, in a second tab of a fresh browser (sessionStorage is per tab).
    const other = await launchBrowser();
    try {
      await other.page.goto(url('/'));
      await other.page.getByRole('tab', { name: 'API key' }).click();
      await other.page.getByLabel('API key').fill(adminKey());
      await other.page.getByRole('button', { name: 'Sign in' }).click();
      await other.page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
      expect(await other.page.locator('.account-who').textContent()).toContain('API key');
      expect(await other.page.locator('.org-switcher').textContent()).toContain('Default organization');
      await other.page.reload();
      await other.page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor(); // survives a reload
    } finally {
      await other.close();
    }
  }, 120_000);

  it('creates an API key that is shown once, with a copy button', async () => {
    await nav('API keys').click();
    await heading('API keys');
    await page.getByRole('button', { name: 'New API key' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Name').fill('payments agent');
    // Least privilege unless chosen otherwise; this agent calls the connections, so: admin.
    expect(await dialog.getByLabel('Role').inputValue()).toBe('auditor');
    await dialog.getByLabel('Role').selectOption('admin');
    await dialog.getByRole('button', { name: 'Create key' }).click();
    const shown = dialog.getByTestId('created-key');
    await shown.waitFor();
    apiKey = (await shown.textContent()) ?? '';
    expect(apiKey).toMatch(/^ig_[A-Za-z0-9_-]{20,}$/);
    await dialog.getByRole('button', { name: 'Copy key' }).click();
    await dialog.getByText('Copied').waitFor();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(apiKey);
    await screenshot(page, 'api-key-created', false);
    await dialog.getByRole('button', { name: 'I have stored it' }).click();
    const row = page.getByRole('row', { name: /payments agent/ });
    await row.waitFor();
    expect(await row.textContent()).toContain(apiKey.slice(0, 10));
    expect(await page.content()).not.toContain(apiKey); // never shown again
  });

  it('creates a connection, showing problems on the field they concern', async () => {
    await nav('Connections').click();
    await page.getByText('No connections yet').waitFor();
    await page.getByRole('link', { name: 'Create your first connection' }).click();
    await heading('New connection');

    const slugField = page.getByLabel('Slug');
    await slugField.fill('Payments API');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText('slug may only contain lowercase letters, digits, "_" and "-"').waitFor();
    expect(await slugField.getAttribute('aria-invalid')).toBe('true');

    await slugField.fill(slug);
    await page.getByLabel('Name', { exact: true }).fill('Payments API');
    await page.getByLabel('Upstream MCP server URL').fill(`${inject('upstreamUrl')}/mcp`);
    await page.getByLabel('Auth type').selectOption('header');
    // A header the gateway reserves: the API refuses it, and the dashboard shows why on that field.
    await page.getByLabel('Header name').fill('X-Igris-User');
    await page.getByLabel('Credential').fill('sk_live_payments_upstream');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText(/the x-igris- prefix is reserved for the gateway/).waitFor();
    expect(await page.getByLabel('Header name').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'connection-create-errors');

    await page.getByLabel('Auth type').selectOption('bearer');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByRole('heading', { level: 1, name: /Payments API/ }).waitFor();
    const gateway = url(`/v1/mcp/${slug}`);
    expect(await page.getByTestId('gateway-url').textContent()).toBe(gateway);
    await page.getByRole('button', { name: 'Copy gateway URL' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(gateway);
    await page.getByRole('tab', { name: 'Claude Desktop' }).click();
    expect(await page.locator('.copy-block pre').textContent()).toContain('mcp-remote');
    await page.getByRole('tab', { name: 'SDK' }).click();
    expect(await page.locator('.copy-block pre').textContent()).toContain(`igris.transport('${slug}'`);
    await page.getByRole('tab', { name: 'Cursor / MCP JSON' }).click();
    const config = JSON.parse((await page.locator('.copy-block pre').textContent()) ?? '{}');
    expect(config.mcpServers[slug].url).toBe(gateway);
    await screenshot(page, 'connection-detail');

    // The same slug again: the API's conflict lands on the slug field.
    await open('/connections/new');
    await page.getByLabel('Slug').fill(slug);
    await page.getByLabel('Name', { exact: true }).fill('Duplicate');
    await page.getByLabel('Upstream MCP server URL').fill(`${inject('upstreamUrl')}/mcp`);
    await page.getByLabel('Auth type').selectOption('none');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByText(`A connection with slug "${slug}" already exists`).waitFor();

    await page.getByRole('link', { name: 'Cancel' }).click();
    const row = page.getByTestId(`connection-row-${slug}`);
    await row.waitFor();
    expect(await row.textContent()).toContain('enabled');

    // Operator actions on a scratch connection: rotate, disable (named in the confirmation), enable, delete.
    await open('/connections/new');
    await page.getByLabel('Slug').fill('scratch');
    await page.getByLabel('Name', { exact: true }).fill('Scratch');
    await page.getByLabel('Upstream MCP server URL').fill(`${inject('upstreamUrl')}/mcp`);
    await page.getByLabel('Credential').fill('first-credential');
    await page.getByRole('button', { name: 'Create connection' }).click();
    await page.getByRole('heading', { level: 1, name: /Scratch/ }).waitFor();
    await page.getByRole('button', { name: 'Rotate credential' }).click();
    await page.getByRole('dialog').getByLabel('New credential').fill('second-credential');
    await page.getByRole('dialog').getByRole('button', { name: 'Rotate' }).click();
    await toast('Credential rotated');
    await page.getByRole('button', { name: 'Disable' }).click();
    expect(await page.getByRole('dialog').textContent()).toContain(url('/v1/mcp/scratch'));
    await page.getByRole('dialog').getByRole('button', { name: 'Disable connection' }).click();
    await page.locator('h1 .badge', { hasText: 'disabled' }).waitFor();
    await page.getByRole('button', { name: 'Enable' }).click();
    await page.locator('h1 .badge', { hasText: 'enabled' }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    const confirmDelete = page.getByRole('dialog').getByRole('button', { name: 'Delete connection' });
    expect(await confirmDelete.isDisabled()).toBe(true); // until the slug is typed
    await page.getByRole('dialog').getByLabel('Type scratch to confirm').fill('scratch');
    await confirmDelete.click();
    await heading('Connections');
    await row.waitFor();
    expect(await page.getByTestId('connection-row-scratch').count()).toBe(0);
    await screenshot(page, 'connections');
  });

  it('edits the policy in form and JSON views, shows invalid rules at the rule and field, and the simulator decides', async () => {
    await page.getByRole('link', { name: 'Payments API' }).click();
    await page.getByRole('link', { name: 'Policy' }).click();
    await page.getByText('No policy yet').waitFor();
    for (let i = 0; i < 3; i++) await page.getByRole('button', { name: 'Add rule' }).click();

    await page.getByLabel('Rule 1 tool').fill('delete_*');
    await page.getByLabel('Rule 1 action').selectOption('deny');
    await page.getByLabel('Rule 1 reason').fill('Deletes need a human');

    const rule2 = page.getByTestId('rule-1');
    await page.getByLabel('Rule 2 tool').fill('echo');
    await rule2.getByRole('button', { name: 'Add condition' }).click();
    await page.getByLabel('Rule 2 condition 1 field').fill('metadata.role');
    await page.getByLabel('Rule 2 condition 1 operator').selectOption('in');
    await page.getByLabel('Rule 2 condition 1 value', { exact: true }).fill('analyst, admin');
    await rule2.getByLabel('Rate limit').check();
    await rule2.getByLabel('Per seconds').fill('0'); // invalid: at least 1

    await page.getByLabel('Rule 3 tool').fill(''); // invalid: empty glob
    await page.getByLabel('Rule 3 action').selectOption('alert');

    await page.getByRole('button', { name: 'Save and publish' }).click();
    await page.getByText(/2 problems — nothing was published/).waitFor();
    expect(await rule2.locator('.field-error').textContent()).toContain('windowSeconds must be at least 1');
    expect(await rule2.getByLabel('Per seconds').getAttribute('aria-invalid')).toBe('true');
    const rule3 = page.getByTestId('rule-2');
    expect(await rule3.locator('.field-error').textContent()).toContain('tool glob must not be empty');
    expect(await page.getByLabel('Rule 3 tool').getAttribute('aria-invalid')).toBe('true');
    await screenshot(page, 'policy-validation');

    await rule2.getByLabel('Per seconds').fill('60');
    await page.getByLabel('Rule 3 tool').fill('*');
    await page.getByLabel('Rule 3 reason').fill('Unreviewed tool');
    await page.getByRole('button', { name: 'Save and publish' }).click();
    await toast('Version 1 published');

    // The JSON view is the same draft; an edit there shows up in the form.
    await page.getByRole('tab', { name: 'JSON' }).click();
    const json = page.getByLabel('Policy document (JSON)');
    const document = JSON.parse(await json.inputValue()) as { rules: Array<Record<string, unknown>> };
    expect(document.rules).toEqual([
      { tool: 'delete_*', action: 'deny', reason: 'Deletes need a human' },
      {
        tool: 'echo',
        action: 'allow',
        conditions: { 'metadata.role': { in: ['analyst', 'admin'] } },
        rateLimit: { limit: 60, windowSeconds: 60, by: 'user' },
      },
      { tool: '*', action: 'alert', reason: 'Unreviewed tool' },
    ]);
    const rules = document.rules as Array<Record<string, unknown>>;
    (rules[0] as Record<string, unknown>).reason = 'Deletes need a human approver';
    await json.fill(JSON.stringify({ rules }, null, 2));
    await screenshot(page, 'policy-json');
    await page.getByRole('tab', { name: 'Form' }).click();
    expect(await page.getByLabel('Rule 1 reason').inputValue()).toBe('Deletes need a human approver');
    await page.getByRole('button', { name: 'Save and publish' }).click();
    await toast('Version 2 published');

    const simulator = card('Simulator');
    await simulator.getByLabel('Tool', { exact: true }).fill('delete_records');
    await simulator.getByLabel('User (X-Igris-User)').fill(agentUser);
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    const result = page.getByTestId('simulation-result');
    await result.getByText('rule #1').waitFor();
    expect(await result.locator('.simulation-decision .badge').textContent()).toBe('deny');
    expect(await result.textContent()).toContain('Deletes need a human approver');

    await simulator.getByLabel('Tool', { exact: true }).fill('echo');
    await simulator.getByLabel('Metadata (JSON)').fill('{"role": "analyst"}');
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    await result.getByText('rule #2').waitFor();
    expect(await result.locator('.simulation-decision .badge').textContent()).toBe('allow');
    const steps = await result.locator('.trace-list li').allTextContents();
    expect(steps[0]).toMatch(/#1.*did not match/);
    expect(steps[1]).toMatch(/#2.*matched/);

    await simulator.getByLabel('Metadata (JSON)').fill('{"role": "intern"}');
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    await result.getByText('rule #3').waitFor();
    expect(await result.locator('.simulation-decision .badge').textContent()).toBe('alert');
    await screenshot(page, 'policy-simulator');

    await page.getByRole('tab', { name: 'Version history' }).click();
    const diff = page.getByTestId('policy-diff');
    await diff.waitFor();
    expect(await diff.locator('.diff-removed').allTextContents()).toEqual([
      expect.stringContaining('"Deletes need a human"'),
    ]);
    expect(await diff.locator('.diff-added').allTextContents()).toEqual([
      expect.stringContaining('"Deletes need a human approver"'),
    ]);
    await screenshot(page, 'policy-versions');
    await page.getByRole('button', { name: 'Roll back to v1' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Roll back to v1' }).click();
    await toast('version 3 is now current');
    await page.getByRole('tab', { name: 'Rules' }).click();
    // The editor takes the rolled-back rules once the new current version is loaded.
    await expect
      .poll(() => page.getByLabel('Rule 1 reason').inputValue(), UI_SETTLES)
      .toBe('Deletes need a human');
  }, 120_000);
  // What the narrow-width step checks at the end of dashboard.observe.e2e.test.ts, for these screens.
  it('raises no page error on any screen of the journey', () => {
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });
});
