/**
 * The dashboard's Agents screen in real headless Chromium against the shared stack: an operator
 * registers a real A2A agent (official `@a2a-js/sdk` server, a2a.agent.ts) by its URL, the SDK's
 * client streams a task through the gateway, and the agent's page shows its card and skills, the
 * task with its lifecycle and the invocation log; refreshing the card and restricting the agent to
 * a team work from the page, and the restriction refuses the SDK client with a JSON-RPC error.
 */
import { randomBytes } from 'node:crypto';
import { ClientFactory, DefaultAgentCardResolver, JsonRpcTransportFactory } from '@a2a-js/sdk/client';
import { JsonRpcTransportError } from '@a2a-js/sdk/errors';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestAgent, type TestAgent } from './a2a.agent';
import { type Browser, screenshot, signedInBrowser } from './browser';
import { adminKey, api, gatewayUrl } from './helpers';

const RUN = randomBytes(4).toString('hex');
const SLUG = `agents-ui-${RUN}`;
const CREDENTIAL = `agent-ui-${RUN}`;
const TEAM = `Research ${RUN}`;

let agent: TestAgent;
let browser: Browser;
let page: Page;

async function sdkClient() {
  const fetchImpl: typeof fetch = (input, init) => {
    const headers = new Headers(init?.headers);
    headers.set('Authorization', `Bearer ${adminKey()}`);
    return fetch(input, { ...init, headers });
  };
  const factory = new ClientFactory({
    transports: [new JsonRpcTransportFactory({ fetchImpl })],
    cardResolver: new DefaultAgentCardResolver({ fetchImpl }),
  });
  return factory.createFromUrl(`${gatewayUrl()}/v1/a2a/${SLUG}/`);
}

function message(text: string) {
  return {
    message: {
      messageId: randomBytes(8).toString('hex'),
      role: 1,
      parts: [{ content: { $case: 'text', value: text } }],
      metadata: { skillId: 'echo' },
    },
  } as never;
}

beforeAll(async () => {
  agent = await startTestAgent(CREDENTIAL);
  const team = await api('POST', '/teams', { name: TEAM });
  if (team.status !== 201) throw new Error(`team: ${team.status} ${JSON.stringify(team.body)}`);
  browser = await signedInBrowser();
  page = browser.page;
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await agent?.close();
});

describe('Agents screen (real Chromium)', () => {
  it('registers an agent by URL and shows its card, skills and last refresh', async () => {
    await page
      .getByRole('navigation', { name: 'Primary' })
      .getByRole('link', { name: 'Agents', exact: true })
      .click();
    await page.getByRole('heading', { level: 1, name: 'Agents' }).waitFor();
    await page.getByRole('button', { name: 'Register an agent' }).click();
    const dialog = page.getByRole('dialog');
    await dialog.getByLabel('Slug').fill(SLUG);
    await dialog.getByLabel('Name').fill('Echo agent');
    await dialog.getByLabel('Agent URL').fill(agent.url);
    await dialog.getByLabel('Agent credential').fill(CREDENTIAL);
    await dialog.getByRole('button', { name: 'Register' }).click();
    await page.getByRole('heading', { level: 1, name: 'Echo agent' }).waitFor();
    const card = page.getByRole('region', { name: 'Card' });
    await card.getByText('admin.reset').waitFor();
    expect(await card.getByRole('list', { name: 'Skills' }).textContent()).toBe('echoslowadmin.reset');
    expect(await card.textContent()).toContain(`${agent.url}/.well-known/agent-card.json`);
    await card.getByRole('button', { name: 'Refresh card' }).click();
    await page.locator('.toast', { hasText: 'Card unchanged' }).first().waitFor();
  });

  it('lists the task the SDK client streamed, with its lifecycle and the invocation log', async () => {
    const res = await api('PUT', `/connections/${SLUG}/policy`, {
      rules: [
        { tool: 'echo', action: 'allow' },
        { tool: 'GetTask', action: 'allow' },
      ],
    });
    expect(res.status).toBe(200);
    const client = await sdkClient();
    let taskId = '';
    for await (const event of client.sendMessageStream(message('from the dashboard test'))) {
      const payload = (event as unknown as { payload: { $case: string; value: { id?: string } } }).payload;
      if (payload.$case === 'task') taskId = payload.value.id!;
    }
    const row = page.getByTestId(`task-${taskId}`);
    await row.getByText('completed').waitFor({ timeout: 30_000 });
    await row.getByRole('button', { name: taskId }).click();
    const detail = page.getByRole('region', { name: `Task ${taskId}` });
    await detail.getByRole('listitem').filter({ hasText: 'working' }).first().waitFor();
    const events = await detail.getByRole('list', { name: 'Task events' }).textContent();
    expect(events).toContain('request');
    expect(events).toContain('submitted');
    expect(events).toContain('artifact');
    // Content is not kept unless the connection logs content: the request shows its size only.
    expect(events).not.toContain('from the dashboard test');
    const calls = page.getByRole('list', { name: 'Invocations' });
    await calls.getByText('SendStreamingMessage').first().waitFor({ timeout: 30_000 });
    await screenshot(page, 'agent-detail');
  });

  it('restricts the agent to a team: saved from the page, and the SDK client is refused', async () => {
    const access = page.getByRole('region', { name: 'Access by team' });
    await access.getByLabel(TEAM).check();
    await access.getByRole('button', { name: 'Save access' }).click();
    await page.locator('.toast', { hasText: 'Access saved' }).first().waitFor();
    await access.getByRole('list', { name: 'Teams allowed' }).getByText(TEAM).waitFor();

    const client = await sdkClient();
    const err = await client.sendMessage(message('not in the team')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JsonRpcTransportError);
    expect((err as JsonRpcTransportError).data).toMatchObject({ code: 'connection_forbidden' });

    await page.getByRole('link', { name: 'All agents' }).click();
    const summary = page.getByTestId(`agent-${SLUG}`);
    await summary.getByText(TEAM).waitFor();
    expect(await summary.textContent()).toContain('echo');
    await screenshot(page, 'agents');
    // Console CSP notices come from the screenshot helper's injected style; the page itself must not throw.
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  });
});
