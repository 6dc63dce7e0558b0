/**
 * The Approvals screen in real headless Chromium against the shared stack: an agent (the official
 * MCP SDK client, its own key) is held by an `approve` rule; an owner signed in to the dashboard
 * opens the link the agent's error named, sees the exact arguments, approves — and the agent's
 * identical retry passes once. A second held call is denied from the pending list.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, screenshot, signedInBrowser } from './browser';
import { api, connectClient, ensureConnection, gatewayUrl, setPolicy } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `approvals-ui-${run}`;

let browser: Browser;
let page: Page;
let agentKey: string;

interface Held {
  code: number;
  data: { approvalId: string; approvalUrl: string };
}

async function callAdd(a: number, b: number): Promise<{ text: string } | Held> {
  const { client } = await connectClient(slug, { 'X-Igris-User': 'agent@acme.test' }, agentKey);
  try {
    const result = (await client.callTool({ name: 'add', arguments: { a, b } })) as {
      content: Array<{ text: string }>;
    };
    return { text: result.content[0]!.text };
  } catch (err) {
    return err as Held;
  } finally {
    await client.close();
  }
}

async function held(a: number, b: number): Promise<Held['data']> {
  const answer = await callAdd(a, b);
  expect(answer).toMatchObject({ code: -32015 });
  return (answer as Held).data;
}

describe('Approvals screen (real Chromium)', () => {
  beforeAll(async () => {
    await ensureConnection(slug, `${inject('upstreamUrl')}/mcp`);
    await setPolicy(slug, [
      {
        tool: 'add',
        action: 'approve',
        reason: 'large sums need a human',
        conditions: { 'args.a': { gt: 1000 } },
      },
      { tool: '*', action: 'allow' },
    ]);
    const key = await api<{ key: string }>('POST', '/api-keys', { name: `agent-${run}`, role: 'admin' });
    expect(key.status).toBe(201);
    agentKey = key.body.key;
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('opens the approval the agent was given, approves it, and the identical retry passes once', async () => {
    const { approvalId, approvalUrl } = await held(4000, 2);
    expect(approvalUrl).toBe(`${gatewayUrl()}/approvals/${approvalId}`);
    await page.goto(approvalUrl);
    await page.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
    const one = page.getByRole('region', { name: `Approval ${approvalId}` });
    const row = one.getByTestId(`approval-row-${approvalId}`);
    await row.getByText('{"a":4000,"b":2}').waitFor();
    await row.getByText('agent@acme.test').waitFor();
    await screenshot(page, 'approvals');
    await row.getByRole('button', { name: `Approve add ${approvalId}` }).click();
    await page.locator('.toast', { hasText: 'Approved' }).first().waitFor();
    await row.getByText('approved', { exact: true }).waitFor();

    expect(await callAdd(4000, 2)).toEqual({ text: '4002' });
    // Used: the next identical call is held again, with a new approval.
    expect((await held(4000, 2)).approvalId).not.toBe(approvalId);
    // (The screenshot helper's own style tag trips the CSP in the console: not the page's error.)
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  }, 120_000);

  it('lists pending approvals from the navigation and denies one', async () => {
    const { approvalId } = await held(5000, 7);
    await page
      .getByRole('navigation', { name: 'Primary' })
      .getByRole('link', { name: 'Approvals', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
    const row = page.getByTestId(`approval-row-${approvalId}`);
    await row.getByText('{"a":5000,"b":7}').waitFor();
    await row.getByRole('button', { name: `Deny add ${approvalId}` }).click();
    await page.locator('.toast', { hasText: 'Denied' }).first().waitFor();
    // Pending is the default filter: the denied approval leaves the list.
    await row.waitFor({ state: 'detached' });
    const answer = await callAdd(5000, 7);
    expect(answer).toMatchObject({ code: -32006 });
    const status = await api<{ status: string; decidedBy: string }>('GET', `/approvals/${approvalId}`);
    expect(status.body).toMatchObject({ status: 'denied', decidedBy: expect.stringMatching(/^key:/) });
  }, 120_000);
});
