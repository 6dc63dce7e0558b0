/**
 * The dashboard in real headless Chromium against the shared stack (the local runtime + the demo MCP
 * server), driven like a security engineer would: sign up and in, create an API key and a
 * connection, write a policy and check the simulator against the gateway, watch a real MCP
 * client's calls arrive on Observe live, stop them (session suspend, kill switch), find them in
 * Audit by trace id, export, manage members and settings. Each screen is saved to docs/screenshots.
 *
 * One journey in order: each step builds on the previous one's state (one organization per run).
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, latestMail, launchBrowser, screenshot } from './browser';
import { adminKey, connectClient, gatewayUrl } from './helpers';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider';

const run = randomBytes(4).toString('hex');
const owner = {
  name: 'Ada Lovelace',
  email: `ada-${run}@example.com`,
  password: 'correct horse battery staple',
};
const org = 'Acme Security';
const slug = 'payments';
const agentUser = 'agent@acme.test';
const traceId = `ig_trace_${randomBytes(12).toString('hex')}`;
/**
 * expect.poll gives up after 1 s unless told otherwise; what these polls wait for (a live event
 * rendered, a page's fetch answered) is waited for as long as a locator's default (browser.ts: 20 s)
 * — Chromium, the runtime and the test share two loaded cores in CI.
 */
const UI_SETTLES = { timeout: 20_000 };

let browser: Browser;
let page: Page;
let apiKey = '';
let mcp: { client: Client; transport: StreamableHTTPClientTransport } | null = null;
let llmProvider: FakeProvider | null = null;

const url = (path: string) => `${gatewayUrl()}${path}`;

async function open(path: string): Promise<void> {
  await page.goto(url(path));
}

async function heading(name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

/** A link of the main navigation. */
function nav(name: string): Locator {
  return page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name, exact: true });
}

function card(name: string): Locator {
  return page.getByRole('region', { name });
}

async function toast(text: string | RegExp): Promise<void> {
  await page.locator('.toast', { hasText: text }).first().waitFor();
}

async function agent() {
  if (!mcp) {
    mcp = await connectClient(
      slug,
      {
        'X-Igris-User': agentUser,
        'X-Igris-Trace-Id': traceId,
        'X-Igris-Metadata': JSON.stringify({ role: 'analyst' }),
      },
      apiKey,
    );
  }
  return mcp.client;
}

async function closeAgent(): Promise<void> {
  if (!mcp) return;
  await mcp.client.close().catch(() => undefined);
  mcp = null;
}

function text(result: unknown): string {
  return ((result as { content: Array<{ text: string }> }).content[0] ?? { text: '' }).text;
}

async function downloadOf(click: () => Promise<void>): Promise<string> {
  const [download] = await Promise.all([page.waitForEvent('download'), click()]);
  const path = await download.path();
  return readFileSync(path, 'utf8');
}

describe('dashboard (real Chromium)', () => {
  beforeAll(async () => {
    browser = await launchBrowser();
    page = browser.page;
    await browser.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: gatewayUrl() });
  });

  afterAll(async () => {
    await llmProvider?.close();
    await closeAgent();
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

  it("shows a real MCP client's calls on Observe live (no reload), decided as the simulator said, and highlights the anomaly", async () => {
    await nav('Observe').click();
    await heading('Observe');
    await page.getByTestId('live-status').getByText('Live').waitFor();
    const loaded = page.url();

    const client = await agent();
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'through the gateway' } }))).toBe(
      'through the gateway',
    );
    await page.locator('[data-testid="stream-item"][data-type="tool_call"]', { hasText: 'echo' }).waitFor();
    const cell = page.locator(`[data-testid="heat-cell"][data-tool="echo"][data-column="${agentUser}"]`);
    await cell.waitFor();
    expect(Number(await cell.getAttribute('data-calls'))).toBeGreaterThanOrEqual(1);

    // Denied by rule #1 (as the simulator said), and a destructive-pattern anomaly all the same.
    const denied = await client.callTool({ name: 'delete_records', arguments: { table: 'payments' } }).then(
      (r) => JSON.stringify(r),
      (err: unknown) => String(err),
    );
    expect(denied).toMatch(/Deletes need a human|Denied by policy/);
    await page
      .locator('[data-testid="stream-item"][data-type="tool_call"]', { hasText: 'delete_records' })
      .getByText('deny')
      .waitFor();
    await page.locator('.anomaly-banner', { hasText: 'destructive pattern' }).waitFor();
    await page.locator('[data-testid="stream-item"][data-type="anomaly"]').first().waitFor();
    const deleteCell = page.locator(
      `[data-testid="heat-cell"][data-tool="delete_records"][data-column="${agentUser}"]`,
    );
    expect(Number(await deleteCell.getAttribute('data-deny'))).toBeGreaterThanOrEqual(1);
    await expect
      .poll(async () => Number(await page.getByTestId('stat-denied').textContent()), UI_SETTLES)
      .toBeGreaterThanOrEqual(1);

    // A few more agents, so the heat map has users and tools to compare (alerts, denies, allows).
    const crowd: Array<[string, string, Array<[string, Record<string, unknown>]>]> = [
      [
        'alice@acme.test',
        'analyst',
        [
          ['echo', { message: 'hi' }],
          ['add', { a: 2, b: 3 }],
          ['echo', { message: 'again' }],
        ],
      ],
      [
        'bob@acme.test',
        'intern',
        [
          ['echo', { message: 'hi' }],
          ['whoami', {}],
          ['delete_records', { table: 'ledger' }],
        ],
      ],
      [
        'ci-bot',
        'admin',
        [
          ['add', { a: 1, b: 1 }],
          ['progress', { steps: 2 }],
          ['echo', { message: 'build' }],
        ],
      ],
    ];
    for (const [user, role, calls] of crowd) {
      const other = await connectClient(
        slug,
        { 'X-Igris-User': user, 'X-Igris-Metadata': JSON.stringify({ role }) },
        apiKey,
      );
      for (const [name, args] of calls)
        await other.client.callTool({ name, arguments: args }).catch(() => undefined);
      await other.client.close();
    }
    await page
      .locator('[data-testid="heat-cell"][data-tool="whoami"][data-column="bob@acme.test"]')
      .waitFor();
    await page.locator('[data-testid="heat-cell"][data-tool="echo"][data-column="ci-bot"]').waitFor();
    // The journey's agent is the session's last caller again.
    expect(text(await client.callTool({ name: 'echo', arguments: { message: 'me again' } }))).toBe(
      'me again',
    );
    await expect
      .poll(async () => Number(await cell.getAttribute('data-calls')), UI_SETTLES)
      .toBeGreaterThanOrEqual(2);
    expect(page.url()).toBe(loaded); // the same page load throughout
    await screenshot(page, 'observe');

    await page.getByLabel('Columns').selectOption('time');
    await page
      .locator('[data-testid="heat-cell"][data-tool="delete_records"]:not([disabled])')
      .first()
      .waitFor();
    await page.getByLabel('Colour by').selectOption('deny');
    await screenshot(page, 'observe-heatmap-time');
    // A zero is neutral: no cell reads "0".
    expect(await page.getByTestId('heat-cell').allTextContents()).not.toContain('0');

    // A reload seeds the counters from the audit trail: the same numbers the live stream counted.
    const count = async (id: string) =>
      Number(((await page.getByTestId(id).textContent()) ?? '').replace(/\D/g, ''));
    const calls = await count('stat-calls');
    const refused = await count('stat-denied');
    await page.reload();
    await heading('Observe');
    await expect.poll(() => count('stat-calls'), { timeout: 20_000 }).toBe(calls);
    expect(await count('stat-denied')).toBe(refused);
    // The anomaly banner stays (after its flash, and across the reload) until it is dismissed.
    const banner = page.getByTestId('anomaly-banner');
    await banner.filter({ hasText: 'destructive pattern' }).waitFor();
    await banner.getByRole('button', { name: 'Dismiss' }).click();
    await banner.waitFor({ state: 'detached' });
    await page.reload();
    await heading('Observe');
    await page.getByTestId('live-status').getByText('Live').waitFor();
    expect(await banner.count()).toBe(0);
  });

  it('suspends the agent session and the next call is refused; a connection kill switch stops and releases it', async () => {
    await nav('Sessions & kill switch').click();
    const row = page.getByTestId(`session-row-${slug}`);
    await row.getByText(agentUser).waitFor(); // the session's last caller
    await row.getByRole('button', { name: 'Suspend' }).click();
    const dialog = page.getByRole('dialog');
    expect(await dialog.textContent()).toContain(`on connection ${slug}`);
    await dialog.getByLabel('Reason (recorded in the audit trail)').fill('Investigating deletes');
    await dialog.getByRole('button', { name: 'Suspend session' }).click();
    await row.getByText('suspended', { exact: true }).waitFor();

    const refused = await (await agent())
      .callTool({ name: 'echo', arguments: { message: 'still there?' } })
      .then(
        (r) => JSON.stringify(r),
        (err: unknown) => String(err),
      );
    expect(refused).toMatch(/Session Suspended|503/);
    await screenshot(page, 'sessions');

    await row.getByRole('button', { name: 'Resume' }).click();
    await row.getByText('active', { exact: true }).waitFor();
    await closeAgent();
    expect(text(await (await agent()).callTool({ name: 'echo', arguments: { message: 'back' } }))).toBe(
      'back',
    );

    const kill = card('Kill switch');
    await kill.getByLabel('Scope').selectOption('connection');
    await kill.getByLabel('Connection').selectOption(slug);
    await kill.getByLabel('Reason').fill('Payments agent misbehaving');
    await kill.getByRole('button', { name: 'Pull kill switch…' }).click();
    const confirm = page.getByRole('dialog');
    expect(await confirm.textContent()).toContain(`every call to connection ${slug}`);
    expect(await confirm.locator('.affected-list').textContent()).toContain(agentUser);
    await screenshot(page, 'kill-switch-confirm', false);
    await confirm.getByRole('button', { name: 'Stop these calls now' }).click();
    const active = card('Active kill switches');
    await active.locator('.kill-item', { hasText: `connection ${slug}` }).waitFor();

    const stopped = await (await agent()).callTool({ name: 'echo', arguments: { message: 'stopped?' } }).then(
      (r) => JSON.stringify(r),
      (err: unknown) => String(err),
    );
    expect(stopped).toMatch(/Session Suspended|503/);

    await kill
      .locator('.kill-item', { hasText: `connection ${slug}` })
      .getByRole('button', { name: 'Lift' })
      .click();
    await page.getByRole('dialog').getByRole('button', { name: 'Lift' }).click();
    await active.getByText('None active').waitFor();
    await closeAgent();
    expect(text(await (await agent()).callTool({ name: 'echo', arguments: { message: 'released' } }))).toBe(
      'released',
    );
    await closeAgent();
  }, 120_000);

  it('finds the calls in Audit by trace id, shows the whole trace in order, and exports with the filters', async () => {
    await nav('Audit').click();
    await heading('Audit');
    await page.getByLabel('Trace id').fill(traceId);
    await page.getByRole('button', { name: 'Apply filters' }).click();
    const rows = page.getByTestId('audit-row');
    // The newest page refreshes itself: wait for the last call of the journey.
    await rows.filter({ hasText: 'echo' }).filter({ hasText: 'allow' }).first().waitFor();
    await rows.filter({ hasText: 'killed' }).first().waitFor();
    // Only this trace's rows once the filtered page replaces the unfiltered one.
    await expect
      .poll(async () => new Set(await rows.locator('td:nth-child(6)').allTextContents()), UI_SETTLES)
      .toEqual(new Set([traceId]));

    // The gateway's decisions carry the rule the simulator named.
    const deniedRow = rows.filter({ hasText: 'delete_records' }).filter({ hasText: 'deny' }).first();
    await deniedRow.getByRole('button').first().click();
    await page.locator('.row-details').getByText('#1 of policy v').waitFor();
    await screenshot(page, 'audit');

    const csv = await downloadOf(() => page.getByRole('button', { name: 'Export CSV' }).click());
    const [header, ...lines] = csv.trim().split(/\r?\n/);
    const traceColumn = (header ?? '').split(',').indexOf('traceId');
    expect(traceColumn).toBeGreaterThan(-1);
    expect(lines.length).toBeGreaterThanOrEqual(4);
    for (const line of lines) expect(line).toContain(traceId);
    const ndjson = await downloadOf(() => page.getByRole('button', { name: 'Export NDJSON' }).click());
    const events = ndjson
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { traceId: string; tool: string | null; action: string });
    expect(events.length).toBeGreaterThanOrEqual(lines.length);
    expect(new Set(events.map((e) => e.traceId))).toEqual(new Set([traceId]));
    expect(events.some((e) => e.tool === 'delete_records' && e.action === 'deny')).toBe(true);

    await deniedRow.getByRole('link', { name: traceId }).click();
    await heading('Trace');
    expect(await page.getByTestId('trace-id').textContent()).toBe(traceId);
    await page.getByTestId('trace-event').first().waitFor();
    const chain = await page.getByTestId('trace-event').allTextContents();
    expect(chain.length).toBeGreaterThanOrEqual(4);
    const first = (tool: string) => chain.findIndex((line) => line.includes(tool));
    expect(first('echo')).toBeGreaterThan(-1);
    expect(first('echo')).toBeLessThan(first('delete_records'));
    expect(first('delete_records')).toBeLessThan(chain.findIndex((line) => line.includes('killed')));
    await screenshot(page, 'trace');
  });

  it('creates an LLM connection with the provider picker, and shows its calls on LLM usage and in Audit', async () => {
    const providerKey = 'sk-fake-dashboard-provider';
    llmProvider = await startFakeProvider({ apiKey: providerKey });
    await open('/connections/new');
    await heading('New connection');
    await page.getByRole('tab', { name: 'LLM provider' }).click();
    await page.getByLabel('Provider', { exact: true }).selectOption('openai-compatible');
    await page.getByLabel('Slug').fill('chat-models');
    await page.getByLabel('Name', { exact: true }).fill('Chat models');
    await page.getByLabel('Provider API key').fill(providerKey);
    // A self-hosted server has no default base URL: the problem is shown on that field.
    await page.getByRole('button', { name: 'Create LLM connection' }).click();
    await page.getByText('Any OpenAI-compatible server needs its base URL').waitFor();
    expect(await page.getByLabel('Base URL', { exact: true }).getAttribute('aria-invalid')).toBe('true');
    await page.getByLabel('Base URL', { exact: true }).fill(`${llmProvider.url}/v1`);
    await page.getByLabel('Allowed models (optional)').fill('fake-*');
    await page.getByRole('button', { name: 'Create LLM connection' }).click();
    await page.getByRole('heading', { level: 1, name: /Chat models/ }).waitFor();
    const base = url('/llm/chat-models/v1');
    expect(await page.getByTestId('gateway-url').textContent()).toBe(base);
    expect(await page.locator('.copy-block pre').textContent()).toContain(`baseURL: '${base}'`);
    await page.getByRole('tab', { name: 'Anthropic SDK' }).click();
    expect(await page.locator('.copy-block pre').textContent()).toContain(
      `baseURL: '${url('/llm/chat-models')}'`,
    );
    await page.getByRole('tab', { name: 'curl' }).click();
    expect(await page.locator('.copy-block pre').textContent()).toContain(`${base}/chat/completions`);
    await screenshot(page, 'llm-connection');

    // One priced call through the gateway with the Igris key (an organization price for the fake model).
    const headers = { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' };
    const price = await fetch(url('/api/v1/llm/prices'), {
      method: 'PUT',
      headers,
      body: JSON.stringify({
        provider: 'openai-compatible',
        model: 'fake-gpt',
        inputPerMTok: 1000,
        outputPerMTok: 2000,
      }),
    });
    expect(price.status).toBe(200);
    // Default deny, as for MCP: a policy allows the fake models.
    const policy = await fetch(url('/api/v1/connections/chat-models/policy'), {
      method: 'PUT',
      headers,
      body: JSON.stringify({ rules: [{ model: 'fake-*', action: 'allow' }] }),
    });
    expect(policy.status).toBe(200);
    const answer = await fetch(`${base}/chat/completions`, {
      method: 'POST',
      headers: { ...headers, 'X-Igris-User': agentUser },
      body: JSON.stringify({ model: 'fake-gpt', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(answer.status).toBe(200);
    await answer.text();

    await nav('LLM usage').click();
    await heading('LLM usage');
    // The audit row arrives through the spool: reload until the call is counted.
    await expect
      .poll(
        async () => {
          await page.reload();
          return page
            .getByTestId('llm-requests')
            .textContent({ timeout: 3000 })
            .catch(() => null);
        },
        { timeout: 30_000, interval: 1000 },
      )
      .toBe('1');
    // Fake usage: 12 input and 6 output tokens at $1000 / $2000 per 1M = $0.024.
    expect(await page.getByTestId('llm-cost').textContent()).toBe('$0.024');
    await page.getByTestId('llm-usage-row').filter({ hasText: 'fake-gpt' }).waitFor();
    await page.getByLabel('Break down by').selectOption('user');
    await page.getByTestId('llm-usage-row').filter({ hasText: agentUser }).waitFor();
    await screenshot(page, 'llm-usage');

    await page.getByLabel('Break down by').selectOption('model');
    await page.getByRole('link', { name: 'fake-gpt' }).click();
    await heading('Audit');
    const call = page.getByTestId('llm-call').first();
    await call.waitFor();
    expect(await call.textContent()).toMatch(/fake-gpt · 12 in \(4 cached\) → 6 out · \$0\.024/);
  });

  it('shows an upstream failure in red on Observe and Audit, and as the connection health', async () => {
    const api = (method: string, path: string, body?: unknown) =>
      fetch(url(path), {
        method,
        headers: { Authorization: `Bearer ${apiKey}`, 'Content-Type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    const created = await api('POST', '/api/v1/connections', {
      slug: 'flaky',
      name: 'Flaky upstream',
      upstreamUrl: `${inject('upstreamUrl')}/status/502`,
      authType: 'none',
    });
    expect(created.status).toBe(201);
    expect(
      (await api('PUT', '/api/v1/connections/flaky/policy', { rules: [{ tool: '*', action: 'allow' }] }))
        .status,
    ).toBe(200);

    await nav('Observe').click();
    await heading('Observe');
    await page.getByTestId('live-status').getByText('Live').waitFor();
    const res = await fetch(url('/v1/mcp/flaky'), {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${apiKey}`,
        'Content-Type': 'application/json',
        Accept: 'application/json, text/event-stream',
      },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 1,
        method: 'tools/call',
        params: { name: 'echo', arguments: {} },
      }),
    });
    expect(res.status).toBe(502);
    await res.body?.cancel();

    // Observe: allowed, but not green — the upstream failed.
    const failed = page
      .locator('[data-testid="stream-item"][data-type="tool_call"]', { hasText: 'flaky' })
      .locator('[data-outcome="upstream_error"]');
    await failed.first().waitFor();
    expect(await failed.first().textContent()).toContain('upstream 502');
    expect(await failed.first().locator('.badge-ok').count()).toBe(0);
    await expect
      .poll(async () => page.getByTestId('stat-upstream-failed').textContent(), UI_SETTLES)
      .not.toBe('0');

    // Audit, filtered by outcome: the row says what happened; pass is explained.
    await open('/audit?outcome=upstream_error&connection=flaky');
    await heading('Audit');
    const row = page.getByTestId('audit-row').filter({ hasText: 'flaky' }).first();
    await row.waitFor();
    expect(await row.locator('[data-outcome="upstream_error"]').textContent()).toContain('upstream 502');
    expect(await page.getByTestId('decision-legend').textContent()).toContain('pass = not governed');

    // The connection's health: on the list and on its page.
    await nav('Connections').click();
    const health = page.getByTestId('connection-row-flaky').getByTestId('connection-health');
    await health.waitFor();
    expect(await health.getAttribute('data-status')).toBe('failing');
    expect(await health.textContent()).toContain('HTTP 502');
    expect(
      await page
        .getByTestId(`connection-row-${slug}`)
        .getByTestId('connection-health')
        .getAttribute('data-status'),
    ).not.toBe('failing');
    await page.getByRole('link', { name: 'Flaky upstream' }).click();
    await page.getByTestId('connection-health').filter({ hasText: 'HTTP 502' }).waitFor();
  });

  it('invites a person who signs up and joins; the organization switcher moves between organizations', async () => {
    const invitee = `bob-${run}@example.com`;
    await nav('Members').click();
    await heading('Members');
    const invite = card('Invite');
    await invite.getByLabel('Email').fill(invitee);
    await invite.getByLabel('Role').selectOption('auditor');
    await invite.getByRole('button', { name: 'Send invitation' }).click();
    await invite.locator('.list-row', { hasText: invitee }).waitFor();

    const mail = latestMail(inject('persistTo'), invitee);
    expect(mail?.subject).toContain(org);
    const link = /(http\S+\/accept-invitation\?token=\S+)/.exec(mail?.body ?? '')?.[1];
    expect(link).toBeDefined();

    const bob = await launchBrowser();
    try {
      await bob.page.goto(link as string);
      await bob.page.getByRole('link', { name: 'Create an account and join' }).click();
      await bob.page.getByLabel('Name', { exact: true }).fill('Bob');
      await bob.page.getByLabel('Email').fill(invitee);
      await bob.page.getByLabel('Password').fill('another good passphrase');
      await bob.page.getByRole('button', { name: 'Create account' }).click();
      await bob.page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
      expect(await bob.page.locator('#org-switcher option:checked').textContent()).toContain(
        `${org} (auditor)`,
      );
      // Auditors read but do not change: no "New connection" for them.
      await bob.page.getByRole('link', { name: 'Connections' }).click();
      await bob.page.getByTestId(`connection-row-${slug}`).waitFor();
      expect(await bob.page.getByRole('link', { name: 'New connection' }).count()).toBe(0);
    } finally {
      await bob.close();
    }

    await page.reload();
    await page.getByRole('row', { name: new RegExp(invitee) }).waitFor();
    await screenshot(page, 'members');

    await page.locator('#org-switcher').selectOption('__new');
    const dialog = page.getByRole('dialog', { name: 'New organization' });
    await dialog.getByLabel('Name').fill('Acme Staging');
    await dialog.getByRole('button', { name: 'Create and switch' }).click();
    await expect
      .poll(() => page.locator('#org-switcher option:checked').textContent(), UI_SETTLES)
      .toContain('Acme Staging');
    await nav('Connections').click();
    await page.getByText('No connections yet').waitFor();
    await page.locator('#org-switcher').selectOption({ label: `${org} (owner)` });
    await page.getByTestId(`connection-row-${slug}`).waitFor();
  });

  it('saves organization settings, with problems on the field', async () => {
    await nav('Settings').click();
    await heading('Settings');
    const retention = page.getByLabel('Audit retention (days)');
    await retention.fill('0');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await page.getByText('retentionDays must be at least 1').waitFor();
    expect(await retention.getAttribute('aria-invalid')).toBe('true');
    await retention.fill('30');
    await page.getByLabel('Default fail mode for new connections').selectOption('open');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await toast('Settings saved');
    await page.reload();
    await heading('Settings');
    expect(await page.getByLabel('Audit retention (days)').inputValue()).toBe('30');
    expect(await page.getByLabel('Default fail mode for new connections').inputValue()).toBe('open');
    await screenshot(page, 'settings');
  });

  it('creates a team with a member, a budget on it (reset, history) and a system prompt (preview, assignment)', async () => {
    await nav('Teams').click();
    await heading('Teams');
    await page.getByText('No teams').waitFor();
    await page.getByRole('button', { name: 'New team' }).click();
    const teamDialog = page.getByRole('dialog');
    await teamDialog.getByLabel('Team name').fill('research');
    await teamDialog.getByLabel('Description').fill('The research agents');
    await teamDialog.getByRole('button', { name: 'Create team' }).click();
    await toast('Team research created');
    const team = card('research');
    await team.getByLabel('Member', { exact: true }).fill(agentUser);
    await team.getByRole('button', { name: 'Add member' }).click();
    await team.getByRole('list', { name: 'Members of research' }).getByText(agentUser).waitFor();
    await screenshot(page, 'teams');

    await nav('Budgets').click();
    await heading('Budgets');
    await page.getByText('No budgets').waitFor();
    await page.getByRole('button', { name: 'New budget' }).click();
    const budgetDialog = page.getByRole('dialog');
    await budgetDialog.getByLabel('Budget name').fill('Research monthly');
    expect(await budgetDialog.getByLabel('Applies to').inputValue()).toBe('team');
    await budgetDialog.getByLabel('Team', { exact: true }).selectOption({ label: 'research' });
    await budgetDialog.getByLabel('Monthly limit (USD)').fill('25');
    await budgetDialog.getByRole('button', { name: 'Create budget' }).click();
    await toast('Budget Research monthly created');
    const budget = card('Research monthly');
    expect(await budget.textContent()).toContain('team research');
    expect(await budget.getByTestId('budget-spent').textContent()).toBe('$0');
    expect(await budget.getByRole('img').getAttribute('aria-label')).toContain('of $25.00; warning at 80%');
    await budget.getByRole('button', { name: 'History' }).click();
    await budget.getByText('No closed periods yet.').waitFor();
    // A reset asks first, then moves the period so far to the history.
    await budget.getByRole('button', { name: 'Reset period' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Reset spend to $0' }).click();
    await toast('Research monthly reset');
    await budget
      .getByRole('table', { name: 'Past periods of Research monthly' })
      .getByRole('row')
      .nth(1)
      .waitFor();
    await screenshot(page, 'budgets');

    await nav('System prompts').click();
    await heading('System prompts');
    await page.getByText('No system prompts').waitFor();
    await page.getByRole('button', { name: 'New system prompt' }).click();
    const promptDialog = page.getByRole('dialog');
    await promptDialog.getByLabel('Prompt name').fill('Research guard');
    // An unknown variable is refused, on the text field.
    await promptDialog.getByLabel('Prompt text').fill('Hello {{username}}');
    await promptDialog.getByRole('button', { name: 'Create prompt' }).click();
    await promptDialog.getByText(/unknown template variable\(s\) \{\{username\}\}/).waitFor();
    expect(await promptDialog.getByLabel('Prompt text').getAttribute('aria-invalid')).toBe('true');
    await promptDialog.getByLabel('Prompt text').fill('You help {{user}} of {{team}}.');
    await promptDialog.getByRole('button', { name: 'Create prompt' }).click();
    await toast('System prompt Research guard created');
    await page.getByRole('heading', { level: 2, name: 'Research guard' }).waitFor();
    const list = page.getByRole('navigation', { name: 'System prompts' });
    await list.getByRole('button', { name: 'Research guard' }).waitFor();

    const preview = card('Preview');
    await preview.getByLabel('Agent user').fill(agentUser);
    await preview.getByLabel('Team').selectOption({ label: 'research' });
    await preview.getByRole('button', { name: 'Render preview' }).click();
    expect(await page.getByTestId('prompt-preview').textContent()).toBe(`You help ${agentUser} of research.`);

    const assignments = card('Assignments');
    await assignments.getByLabel('Team', { exact: true }).selectOption({ label: 'research' });
    await assignments.getByRole('button', { name: 'Assign' }).click();
    await assignments.getByRole('list', { name: 'Assignments' }).getByText('research').waitFor();
    await list.getByText('v1 · 1 assignment').waitFor();

    await page.getByLabel('Text', { exact: true }).fill('You help {{user}} of {{team}}. Cite sources.');
    await page.getByRole('button', { name: 'Save as version 2' }).click();
    await toast('Research guard saved as version 2');
    await list.getByText('v2 · 1 assignment').waitFor();
    await screenshot(page, 'system-prompts');

    // At phone width the three screens fit the screen (nothing scrolls sideways).
    const narrow = await browser.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    for (const [path, title, shown] of [
      ['/teams', 'Teams', 'research'],
      ['/budgets', 'Budgets', 'Research monthly'],
      ['/system-prompts', 'System prompts', 'Research guard'],
    ] as const) {
      await narrow.goto(url(path));
      await narrow.getByRole('heading', { level: 1, name: title }).waitFor();
      await narrow.getByText(shown, { exact: true }).first().waitFor();
      expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    }
    await screenshot(narrow, 'narrow-system-prompts');
    await narrow.close();
  });

  it('works at a narrow width and from the keyboard', async () => {
    const narrow = await browser.newPage();
    await narrow.setViewportSize({ width: 390, height: 844 });
    await narrow.goto(url('/observe'));
    await narrow.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
    await narrow.keyboard.press('Tab');
    expect(await narrow.evaluate(() => document.activeElement?.textContent)).toBe('Skip to content');
    const menu = narrow.getByRole('button', { name: 'Menu' });
    expect(await narrow.getByRole('navigation', { name: 'Primary' }).isVisible()).toBe(false);
    await menu.focus();
    await narrow.keyboard.press('Enter');
    expect(await menu.getAttribute('aria-expanded')).toBe('true');
    await narrow.getByRole('link', { name: 'Sessions & kill switch' }).focus();
    await narrow.keyboard.press('Enter');
    await narrow.getByRole('heading', { level: 1, name: 'Sessions & kill switch' }).waitFor();
    expect(await narrow.getByRole('navigation', { name: 'Primary' }).isVisible()).toBe(false);
    await narrow.goto(url('/observe'));
    await narrow.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
    await narrow.getByTestId('stat-calls').waitFor();
    // Nothing wider than the screen: the page itself never scrolls sideways.
    expect(await narrow.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(narrow, 'narrow-observe');
    await narrow.close();
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });
});
