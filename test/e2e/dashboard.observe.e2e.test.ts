/**
 * The dashboard journey, continued (dashboard.e2e.test.ts is its start): a real MCP client's calls
 * arrive on Observe live, are stopped (session suspend, kill switch) and found in Audit by trace id
 * and exported; an upstream failure shows in red; the screens work at phone width and from the
 * keyboard. In real headless Chromium against the shared stack; each screen is saved to
 * docs/screenshots.
 *
 * The steps build on each other's state, in one organization of this file's own, which starts as
 * the first file leaves its organization (owner, admin key, `payments`, its policy) —
 * dashboard.journey.ts makes it through the sign-up endpoint and the API.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, screenshot } from './browser';
import {
  agentSession,
  agentUser,
  PAYMENTS_POLICY,
  pageHelpers,
  signedInOwner,
  slug,
  text,
  UI_SETTLES,
  url,
} from './dashboard.journey';
import { connectClient } from './helpers';

const traceId = `ig_trace_${randomBytes(12).toString('hex')}`;

let browser: Browser;
let page: Page;
let apiKey = '';
const { open, heading, nav, card, downloadOf } = pageHelpers(() => page);
const { agent, closeAgent } = agentSession(() =>
  connectClient(
    slug,
    {
      'X-Igris-User': agentUser,
      'X-Igris-Trace-Id': traceId,
      'X-Igris-Metadata': JSON.stringify({ role: 'analyst' }),
    },
    apiKey,
  ),
);

describe('dashboard: an agent on Observe, the kill switch, Audit (real Chromium)', () => {
  beforeAll(async () => {
    ({ browser, apiKey } = await signedInOwner({ policy: PAYMENTS_POLICY }));
    page = browser.page;
  });

  afterAll(async () => {
    await closeAgent();
    await browser?.close();
  });

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
