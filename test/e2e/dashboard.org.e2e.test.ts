/**
 * The dashboard journey, continued (dashboard.e2e.test.ts is its start): an LLM connection and its
 * usage, a person invited who signs up and joins, the organization switcher, settings, and teams
 * with a budget and a system prompt. In real headless Chromium against the shared stack; each
 * screen is saved to docs/screenshots.
 *
 * The steps build on each other's state, in one organization of this file's own, which starts as
 * the first file leaves its organization (owner, admin key, `payments`) — dashboard.journey.ts
 * makes it through the sign-up endpoint and the API.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, latestMail, launchBrowser, screenshot } from './browser';
import { agentUser, org, pageHelpers, signedInOwner, slug, UI_SETTLES, url } from './dashboard.journey';
import { type FakeProvider, startFakeProvider } from './llm.fake-provider';
import { clientAddress, signedUpFrom } from './sign-up.fixtures';

const run = randomBytes(4).toString('hex');

let browser: Browser;
let page: Page;
let apiKey = '';
let llmProvider: FakeProvider | null = null;
const { open, heading, nav, card, toast } = pageHelpers(() => page);

describe('dashboard: LLM usage, members, settings, teams (real Chromium)', () => {
  beforeAll(async () => {
    ({ browser, apiKey } = await signedInOwner());
    page = browser.page;
  });

  afterAll(async () => {
    await llmProvider?.close();
    await browser?.close();
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

    const bob = await launchBrowser({ clientAddress: clientAddress() });
    try {
      await bob.page.goto(link as string);
      await bob.page.getByRole('link', { name: 'Create an account and join' }).click();
      await bob.page.getByLabel('Name', { exact: true }).fill('Bob');
      await bob.page.getByLabel('Email').fill(invitee);
      await bob.page.getByLabel('Password').fill('another good passphrase');
      await bob.page.getByRole('button', { name: 'Create account' }).click();
      await bob.page.getByRole('heading', { level: 1, name: 'Observe' }).waitFor();
      expect(signedUpFrom(invitee)).toBe(clientAddress()); // this file's own address (sign-up.fixtures.ts)
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
  // What the narrow-width step checks at the end of dashboard.observe.e2e.test.ts, for these screens.
  it('raises no page error on any screen of the journey', () => {
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });
});
