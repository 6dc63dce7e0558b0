/**
 * The tool-labels editor of a connection (issue 22, docs/policies.md#tool-labels) in real headless
 * Chromium against the shared stack: an owner labels `ech*` tools `untrusted_input` — a label typo
 * is shown under its field and nothing is saved until it is fixed — the API then holds the labels,
 * and an agent (the official MCP SDK client) whose session called `echo` is refused `add` by a
 * `session.touched` rule; removing the glob in the editor lifts that for a new session.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { api, connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `labels-ui-${run}`;

let browser: Browser;
let page: Page;

/** `echo` then `add` in one agent session (its own X-Igris-Trace-Id): add's answer or its error. */
async function echoThenAdd(session: string): Promise<{ text: string } | { code: number; message: string }> {
  const { client } = await connectClient(slug, { 'X-Igris-Trace-Id': session });
  try {
    await client.callTool({ name: 'echo', arguments: { message: 'a web page' } });
    const result = (await client.callTool({ name: 'add', arguments: { a: 2, b: 3 } })) as {
      content: Array<{ text: string }>;
    };
    return { text: result.content[0]!.text };
  } catch (err) {
    const { code, message } = err as { code: number; message: string };
    return { code, message };
  } finally {
    await client.close();
  }
}

async function savedLabels(): Promise<unknown> {
  const res = await api<{ settings: { toolLabels?: unknown } }>('GET', `/connections/${slug}`);
  expect(res.status).toBe(200);
  return res.body.settings.toolLabels;
}

describe('Tool labels editor (real Chromium, official MCP SDK agent)', () => {
  beforeAll(async () => {
    await ensureConnection(slug, `${inject('upstreamUrl')}/mcp`);
    await setPolicy(slug, [
      { tool: 'add', action: 'deny', conditions: { 'session.touched': ['untrusted_input'] } },
      { tool: '*', action: 'allow' },
    ]);
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('edits the labels, shows a label typo, and the saved labels refuse a tainted session', async () => {
    // No labels yet: echo taints nothing, add passes.
    expect(await echoThenAdd(`labels-before-${run}`)).toEqual({ text: '5' });

    await page.goto(`${gatewayUrl()}/connections/${slug}`);
    const form = page.getByRole('form', { name: 'Tool labels' });
    await form.getByText('No globs').waitFor();
    await form.getByRole('button', { name: 'Add glob' }).click();
    await form.getByLabel('Tool glob 1').fill('ech*');
    await form.getByLabel('Labels of glob 1').fill('Untrusted Input');
    await form.getByText('"Untrusted": a label is 1 to 64 lower-case letters').waitFor();
    const save = form.getByRole('button', { name: 'Save tool labels' });
    expect(await save.isDisabled()).toBe(true);
    // A duplicate glob is flagged too.
    await form.getByRole('button', { name: 'Add glob' }).click();
    await form.getByLabel('Tool glob 2').fill('ech*');
    await form.getByText('this glob is listed twice').waitFor();
    await form.getByRole('button', { name: 'Remove glob 2' }).click();

    await form.getByLabel('Labels of glob 1').fill('untrusted_input, web');
    await form.getByRole('alert').waitFor({ state: 'detached' });
    await save.click();
    await page
      .locator('.toast', { hasText: `Tool labels of ${slug} saved` })
      .first()
      .waitFor();
    expect(await savedLabels()).toEqual({ 'ech*': ['untrusted_input', 'web'] });

    const refused = await echoThenAdd(`labels-after-${run}`);
    expect(refused).toMatchObject({ code: -32006 });
    expect((refused as { message: string }).message).toContain('untrusted_input');

    // The saved rows come back on reload; removing the glob saves an empty map.
    await page.reload();
    expect(await form.getByLabel('Tool glob 1').inputValue()).toBe('ech*');
    expect(await form.getByLabel('Labels of glob 1').inputValue()).toBe('untrusted_input, web');
    await form.getByRole('button', { name: 'Remove glob 1' }).click();
    await form.getByRole('button', { name: 'Save tool labels' }).click();
    await form.getByText('No globs').waitFor();
    expect(await savedLabels()).toEqual({});
    expect(await echoThenAdd(`labels-cleared-${run}`)).toEqual({ text: '5' });
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  }, 120_000);
});
