/**
 * The Detections screen and Observe's "Detections by risk" heat map in real headless Chromium,
 * against the shared stack (the local runtime + the demo MCP server), signed in with the admin API key:
 * rules listed and filtered, a custom rule refused with the reason shown under the editor then
 * saved and edited, a custom pack, packs assigned to a connection, the rule tester — and a real
 * MCP client's SQL-injection argument blocked by the assigned pack, which then appears in the
 * recent detections and, live and after a reload (audit back-fill), in the heat map.
 */
import { randomBytes } from 'node:crypto';
import type { Locator, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, screenshot, signedInBrowser } from './browser';
import { api, connectClient, ensureConnection, setPolicy, waitForAudit } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `det-ui-${run}`;
const ruleId = `custom.ticket_${run}`;
const packName = `tickets-${run}`;
const INJECTION = "1' UNION SELECT username, password FROM users--";

let browser: Browser;
let page: Page;

async function heading(name: string): Promise<void> {
  await page.getByRole('heading', { level: 1, name }).waitFor();
}

function card(name: string): Locator {
  return page.getByRole('region', { name });
}

async function toast(text: string | RegExp): Promise<void> {
  await page.locator('.toast', { hasText: text }).first().waitFor();
}

const rule = (pattern: string, severity = 'high') =>
  JSON.stringify(
    {
      id: ruleId,
      category: 'secret',
      severity,
      where: ['args', 'result', 'prompt', 'completion'],
      detection: { literals: ['TICKET-'], pattern },
      action: 'block',
      description: 'Internal ticket numbers must not leave the company',
      examples: { positive: ['see TICKET-123456'], negative: ['a ticket for 12 people'] },
    },
    null,
    2,
  );

describe('Detections screen and heat map (real Chromium)', () => {
  beforeAll(async () => {
    await ensureConnection(slug, `${inject('upstreamUrl')}/mcp`);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('lists the built-in rules and packs, filtered by category and severity', async () => {
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Detections' }).click();
    await heading('Detections');
    const count = page.getByTestId('rule-count');
    await count.filter({ hasText: /of \d+ rules/ }).waitFor();
    const total = Number(/of (\d+) rules/.exec((await count.textContent()) ?? '')?.[1]);
    expect(total).toBeGreaterThanOrEqual(250);

    const rules = card('Rules');
    await rules.getByLabel('Category').selectOption('sql_injection');
    await rules.getByLabel('Severity').selectOption('critical');
    const rows = page.getByTestId('rule-row');
    await count.filter({ hasText: new RegExp(`^\\d+ of ${total} rules`) }).waitFor();
    const shown = await rows.count();
    expect(shown).toBeGreaterThan(0);
    expect(shown).toBeLessThan(total);
    for (const text of await rows.allTextContents()) {
      expect(text).toContain('sql_injection');
      expect(text).toContain('critical');
    }
    await rules.getByLabel('Category').selectOption('');
    await rules.getByLabel('Severity').selectOption('');

    const packs = page.getByRole('table', { name: 'Detection packs' });
    for (const name of ['mcp-advanced-security', 'llm-compliance-gdpr', 'pii-default', 'secrets-default'])
      await packs.getByText(name, { exact: true }).waitFor();
    await screenshot(page, 'detections');
  });

  it('refuses a rule that could backtrack, with the reason under the editor; saves and edits a valid one', async () => {
    const editor = card('New custom rule');
    const json = editor.getByLabel('New rule (JSON)');
    await json.fill(rule('(a+)+TICKET-\\d{6}'));
    await editor.getByRole('button', { name: 'Save rule' }).click();
    const refusal = page.getByTestId('rule-error');
    await refusal.waitFor();
    expect(await refusal.textContent()).toMatch(/Rule refused: .+\(at detection\.pattern\)/);

    await json.fill(rule('TICKET-\\d{6}'));
    await editor.getByRole('button', { name: 'Save rule' }).click();
    await toast(`Rule ${ruleId} saved`);
    const row = page.getByTestId('rule-row').filter({ hasText: ruleId });
    await row.waitFor();
    expect(await row.textContent()).toContain('custom');
    expect(await row.textContent()).toContain('high');

    // Edit: the editor opens with the saved rule; a change that misses its own example is refused.
    await row.getByRole('button', { name: `Edit ${ruleId}` }).click();
    const editing = card(`Edit ${ruleId}`);
    const editJson = editing.getByLabel(`Rule ${ruleId} (JSON)`);
    expect(JSON.parse(await editJson.inputValue())).toMatchObject({
      id: ruleId,
      detection: { pattern: 'TICKET-\\d{6}' },
    });
    await editJson.fill(rule('TICKET-[a-z]{6}', 'critical'));
    await editing.getByRole('button', { name: 'Save changes' }).click();
    await page.getByTestId('rule-error').filter({ hasText: 'examples.positive[0]' }).waitFor();
    await editJson.fill(rule('TICKET-\\d{6}', 'critical'));
    await editing.getByRole('button', { name: 'Save changes' }).click();
    await toast(`Rule ${ruleId} saved`);
    await page.getByTestId('rule-row').filter({ hasText: ruleId }).filter({ hasText: 'critical' }).waitFor();
  });

  it('saves a custom pack (an unknown rule id is refused inline) and tests text with it', async () => {
    const editor = card('New custom pack');
    await editor.getByLabel('Pack name').fill(packName);
    await editor.getByLabel('Description').fill('Tickets and SQL');
    await editor.getByLabel('Rule ids').fill(`${ruleId}, no.such_rule`);
    await editor.getByRole('button', { name: 'Save pack' }).click();
    await page.getByTestId('pack-error').filter({ hasText: 'no.such_rule' }).waitFor();
    await editor.getByLabel('Rule ids').fill(ruleId);
    await editor.getByLabel('sql_injection').check();
    await editor.getByRole('button', { name: 'Save pack' }).click();
    await toast(`Pack ${packName} saved`);
    await page.getByTestId('pack-row').filter({ hasText: packName }).waitFor();

    const tester = card('Rule tester');
    await tester.getByLabel('Text to test').fill(`see TICKET-654321 and id=${INJECTION}`);
    await tester.getByLabel('Pack').selectOption(packName);
    await tester.getByRole('button', { name: 'Test' }).click();
    const result = page.getByTestId('scan-result');
    await result.getByText(ruleId).waitFor();
    expect(Number(await page.getByTestId('scan-risk').textContent())).toBeGreaterThan(0);
  });

  it('assigns packs to a connection; a blocked call shows in the recent detections and the heat map', async () => {
    const assign = card('Packs per connection');
    await assign.getByLabel('Connection', { exact: true }).selectOption(slug);
    await assign.getByLabel('mcp-advanced-security').check();
    await assign.getByLabel(packName).check();
    await assign.getByRole('button', { name: 'Save packs' }).click();
    await toast(`${slug} now applies`);
    const saved = await api<{ settings: { inspection?: { packs: string[] } } }>(
      'GET',
      `/connections/${slug}`,
    );
    expect(saved.body.settings.inspection?.packs.sort()).toEqual(['mcp-advanced-security', packName].sort());

    // Observe first, so the detection arrives on the live stream.
    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Observe' }).click();
    await heading('Observe');
    await page.getByTestId('live-status').filter({ hasText: 'Live' }).waitFor();
    const { client } = await connectClient(slug, { 'X-Igris-User': `det-${run}@example.com` });
    try {
      const refused = await client
        .callTool({ name: 'echo', arguments: { message: INJECTION } })
        .then((r) => (r.isError ? r : null))
        .catch((err: unknown) => err);
      expect(refused).not.toBeNull(); // blocked before the upstream, never echoed
      expect(JSON.stringify(refused)).not.toContain('UNION SELECT');
    } finally {
      await client.close().catch(() => undefined);
    }
    const live = page.getByTestId('detection-heatmap').getByTestId('detection-cell');
    await live.filter({ hasText: /\d/ }).first().waitFor();
    const sql = page
      .locator('[data-testid="detection-cell"][data-category="sql_injection"]')
      .filter({ hasText: /\d/ });
    await sql.first().waitFor();
    await screenshot(page, 'observe-detections');

    // After a reload the heat map is filled from the audit trail — what D1 holds when the page
    // opens. The live event came before the row's spool flushed it to D1: wait for the row, or the
    // reload can open before it and the back-fill (up to that moment) never sees it.
    await waitForAudit<{ id: string; type: string; errorCode: string | null }>(
      `connection=${slug}&limit=20`,
      (events) => events.some((e) => e.type === 'tool_call' && e.errorCode === 'content_blocked'),
    );
    await page.reload();
    await heading('Observe');
    await sql.first().waitFor({ timeout: 30_000 });
    const label = await sql.first().getAttribute('aria-label');
    expect(label).toMatch(/^sql_injection, (critical|high|medium|low): [1-9]\d* detections?$/);

    await page.getByRole('navigation', { name: 'Primary' }).getByRole('link', { name: 'Detections' }).click();
    await heading('Detections');
    const recent = page.getByTestId('detection-row').filter({ hasText: slug });
    await recent.filter({ hasText: 'sql_injection' }).first().waitFor({ timeout: 30_000 });
    expect(await recent.first().textContent()).toContain('block');
    expect(await page.getByRole('table', { name: 'Recent detections' }).textContent()).not.toContain(
      'UNION SELECT',
    );
  }, 120_000);
});
