/**
 * The Tools and Scans tabs of a connection in real headless Chromium against the shared stack,
 * with the official MCP SDK client as the agent and the demo server's `/mutable` route as an MCP
 * server whose tools change (a rug pull) and `/vulnerable` as a server the scanner must flag:
 *
 *  - fail-closed discovery: nothing listed until an owner approves in the Tools tab; the rug pull
 *    hides the changed tool, the drift history shows it critical with a diff, approving it again
 *    makes it callable; quarantining a tool refuses its calls;
 *  - the discovery mode is set from the Tools tab (owner), and the agent's lists follow it;
 *  - a scan with a critical finding blocks the connection (blockOnCriticalScan) until its critical
 *    findings are suppressed — one in the Scans tab, with a reason — and the agent's call passes.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, screenshot, signedInBrowser } from './browser';
import { api, connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers';

const run = randomBytes(4).toString('hex');
const toolsSlug = `tools-ui-${run}`;
const scansSlug = `scans-ui-${run}`;
const variant = `tools-ui-${run}`;

let browser: Browser;
let page: Page;

interface McpFailure {
  code: number;
  data?: { code?: string };
}

async function listed(slug: string): Promise<string[]> {
  const { client } = await connectClient(slug);
  try {
    return (await client.listTools()).tools.map((t) => t.name);
  } finally {
    await client.close();
  }
}

async function callTool(
  slug: string,
  name: string,
  args: Record<string, unknown>,
): Promise<string | McpFailure> {
  const { client } = await connectClient(slug);
  try {
    const result = (await client.callTool({ name, arguments: args })) as { content: Array<{ text: string }> };
    return result.content[0]!.text;
  } catch (err) {
    return err as McpFailure;
  } finally {
    await client.close();
  }
}

interface Item {
  name: string;
  version: number;
}

async function inventoryWhen(slug: string, ready: (items: Item[]) => boolean): Promise<Item[]> {
  for (let i = 0; i < 150; i++) {
    const res = await api<{ items: Item[] }>('GET', `/connections/${slug}/tools`);
    if (res.status === 200 && ready(res.body.items)) return res.body.items;
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`inventory of ${slug} never got ready`);
}

async function setVariant(version: 1 | 2) {
  const res = await fetch(`${inject('upstreamUrl')}/mutable/set?variant=${variant}&version=${version}`, {
    method: 'POST',
  });
  expect(res.status).toBe(204);
}

async function openTab(slug: string, tab: 'Tools' | 'Scans') {
  await page.goto(`${gatewayUrl()}/connections/${slug}`);
  await page.getByRole('tab', { name: tab, exact: true }).click();
}

describe('Tools and Scans tabs (real Chromium, official MCP SDK agent)', () => {
  beforeAll(async () => {
    await setVariant(1);
    await ensureConnection(toolsSlug, `${inject('upstreamUrl')}/mutable?variant=${variant}`, null);
    const patched = await api('PATCH', `/connections/${toolsSlug}`, {
      settings: { integrity: { discovery: 'fail_closed' } },
    });
    expect(patched.status).toBe(200);
    await setPolicy(toolsSlug, [{ tool: '*', action: 'allow' }]);
    await ensureConnection(scansSlug, `${inject('upstreamUrl')}/vulnerable`, null);
    const blocking = await api('PATCH', `/connections/${scansSlug}`, {
      settings: { integrity: { discovery: 'off', blockOnCriticalScan: true } },
    });
    expect(blocking.status).toBe(200);
    await setPolicy(scansSlug, [{ tool: '*', action: 'allow' }]);
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('approves a discovered tool, shows a rug pull with its diff, re-approves it, and quarantines another', async () => {
    // Fail-closed: the agent sees nothing until an owner approves.
    expect(await listed(toolsSlug)).toEqual([]);
    await inventoryWhen(toolsSlug, (items) => items.length === 3);

    await openTab(toolsSlug, 'Tools');
    await page.getByTestId('discovery-mode').getByText('fail_closed').waitFor();
    const lookup = page.getByTestId('tool-lookup');
    await lookup.getByText('not approved').waitFor();
    await lookup.getByRole('button', { name: 'Approve lookup' }).click();
    await lookup.getByText('approved', { exact: true }).waitFor();
    expect(await listed(toolsSlug)).toEqual(['lookup']);
    expect(await callTool(toolsSlug, 'lookup', { id: '7' })).toBe('record 7');

    // The rug pull: the changed lookup disappears from the agent's list at once.
    await setVariant(2);
    expect(await listed(toolsSlug)).toEqual([]);
    await inventoryWhen(toolsSlug, (items) => items.find((i) => i.name === 'lookup')?.version === 2);
    await page.reload();
    await page.getByRole('tab', { name: 'Tools', exact: true }).click();
    await lookup.getByText('not approved').waitFor();
    expect(await lookup.textContent()).toContain('v2');
    expect(await lookup.textContent()).toContain('hidden_instruction_tag');
    const drift = page.getByTestId('drift-lookup-v2');
    await drift.getByText('critical').waitFor();
    await drift.getByRole('button', { name: 'Diff' }).click();
    const diff = page.getByTestId('diff-lookup-v2');
    await diff.locator('.diff-added', { hasText: 'IMPORTANT' }).first().waitFor();
    await screenshot(page, 'connection-tools');

    // Refused until the new definition is approved; then callable.
    expect(await callTool(toolsSlug, 'lookup', { id: '7', note: 'n' })).toMatchObject({ code: -32013 });
    await lookup.getByRole('button', { name: 'Approve lookup' }).click();
    await lookup.getByText('approved', { exact: true }).waitFor();
    expect(await callTool(toolsSlug, 'lookup', { id: '7', note: 'n' })).toBe('record 7 (v2)');

    // Quarantine from the tab: refused.
    const echo = page.getByTestId('tool-echo');
    await echo.getByRole('button', { name: 'Approve echo' }).click();
    await echo.getByText('approved', { exact: true }).waitFor();
    expect(await callTool(toolsSlug, 'echo', { message: 'hi' })).toBe('hi');
    await echo.getByRole('button', { name: 'Quarantine echo' }).click();
    await echo.getByText('quarantined').waitFor();
    expect(await callTool(toolsSlug, 'echo', { message: 'hi' })).toMatchObject({ code: -32013 });
  }, 120_000);

  it('switches a connection to fail-closed discovery from the Tools tab: the agent sees nothing unapproved', async () => {
    const slug = `discovery-ui-${run}`;
    const key = `discovery-ui-${run}`;
    await fetch(`${inject('upstreamUrl')}/mutable/set?variant=${key}&version=1`, { method: 'POST' });
    await ensureConnection(slug, `${inject('upstreamUrl')}/mutable?variant=${key}`, null);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    // The default, alert: everything listed.
    expect(await listed(slug)).toEqual(['lookup', 'echo', 'delete_thing']);

    await openTab(slug, 'Tools');
    await page.getByTestId('discovery-mode').getByText('alert').waitFor();
    const form = page.getByRole('form', { name: 'Integrity settings' });
    await form.getByLabel('Discovery').selectOption('fail_closed');
    await form.getByLabel('Quarantine an item on critical drift').check();
    await form.getByRole('button', { name: 'Save integrity settings' }).click();
    await page.getByTestId('discovery-mode').getByText('fail_closed').waitFor();

    const saved = await api<{ settings: { integrity: Record<string, unknown> } }>(
      'GET',
      `/connections/${slug}`,
    );
    expect(saved.body.settings.integrity).toEqual({
      discovery: 'fail_closed',
      quarantineOnCritical: true,
      blockOnCriticalScan: false,
    });
    // Nothing was approved: the agent's next list is empty, its call refused.
    expect(await listed(slug)).toEqual([]);
    expect(await callTool(slug, 'echo', { message: 'hi' })).toMatchObject({ code: -32013 });
  }, 120_000);

  it('one click loads the read-only template; published, it allows only tools pinned read-only', async () => {
    const slug = `readonly-ui-${run}`;
    const key = `readonly-ui-${run}`;
    await fetch(`${inject('upstreamUrl')}/mutable/set?variant=${key}&version=1`, { method: 'POST' });
    await ensureConnection(slug, `${inject('upstreamUrl')}/mutable?variant=${key}`, null);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    expect(await listed(slug)).toEqual(['lookup', 'echo', 'delete_thing']);
    await inventoryWhen(slug, (items) => items.length === 3);
    expect((await api('POST', `/connections/${slug}/tools/approve`, { all: true })).status).toBe(200);

    await page.goto(`${gatewayUrl()}/connections/${slug}/policy`);
    await page.getByRole('button', { name: 'Use template: Read-only by default' }).click();
    await page.getByRole('button', { name: 'Save and publish' }).click();
    await page
      .locator('.toast', { hasText: /published/ })
      .first()
      .waitFor();
    expect(await listed(slug)).toEqual(['lookup']);
    expect(await callTool(slug, 'delete_thing', { id: '1' })).toMatchObject({ code: -32006 });
    expect(await callTool(slug, 'lookup', { id: '1' })).toBe('record 1');
  }, 120_000);

  it('a critical scan finding blocks the connection until suppressed; one is suppressed in the Scans tab', async () => {
    expect(await callTool(scansSlug, 'echo', { message: 'hi' })).toBe('ok');
    await openTab(scansSlug, 'Scans');
    await page.getByRole('button', { name: 'Run scan' }).click();
    await page.getByTestId('finding-hidden_instruction_tag-tool:get_weather').waitFor();
    expect(await page.getByTestId('scan-summary').textContent()).toMatch(/[1-9]\d* critical/);
    expect(await callTool(scansSlug, 'echo', { message: 'hi' })).toMatchObject({
      code: -32016,
      data: { code: 'connection_blocked' },
    });

    const row = page.getByTestId('finding-hidden_instruction_tag-tool:get_weather');
    await row.getByRole('button', { name: 'Suppress hidden_instruction_tag on tool:get_weather' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Reason').fill('vendor fixture, reviewed');
    await dialog.getByRole('button', { name: 'Suppress' }).click();
    await row.getByText('suppressed: vendor fixture, reviewed').waitFor();
    await screenshot(page, 'connection-scans');

    // The other critical findings, through the API; then the agent's call passes again.
    const scans = await api<{ scans: Array<{ id: string }> }>('GET', `/scans?connection=${scansSlug}`);
    const scanId = scans.body.scans[0]!.id;
    const scan = await api<{ findings: Array<{ id: string; severity: string; suppression: unknown }> }>(
      'GET',
      `/scans/${scanId}`,
    );
    for (const f of scan.body.findings.filter((f) => f.severity === 'critical' && f.suppression === null)) {
      const res = await api('POST', `/scans/${scanId}/suppressions`, { finding: f.id, reason: 'reviewed' });
      expect(res.status).toBe(201);
    }
    expect(await callTool(scansSlug, 'echo', { message: 'hi' })).toBe('ok');
    await page.reload();
    await page.getByRole('tab', { name: 'Scans', exact: true }).click();
    await page
      .getByTestId('scan-summary')
      .getByText(/^0 critical/)
      .waitFor();
  }, 120_000);
});
