/**
 * The policy editor's issue-22 parts in real headless Chromium against the shared stack: with real
 * calls recorded (the official MCP SDK client, two users), a stricter draft is replayed before
 * "Save and publish" and the screen shows exactly the decision that would flip, by rule and caller;
 * the simulator takes arguments and says why a rule on an argument the tool does not have can never
 * apply (schema-aware warnings), and saving shows the same warning.
 */
import { randomBytes } from 'node:crypto';
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type Browser, signedInBrowser } from './browser';
import { api, connectClient, ensureConnection, gatewayUrl, setPolicy, waitForAudit } from './helpers';

const run = randomBytes(4).toString('hex');
const slug = `policy-ui-${run}`;
const DRAFT = [
  { tool: 'add', action: 'deny', reason: 'no sums' },
  { tool: 'echo', action: 'allow', conditions: { 'args.nonexistent': { prefix: 'x' } } },
  { tool: 'echo', action: 'allow' },
];

let browser: Browser;
let page: Page;

async function callAs(user: string, name: string, args: Record<string, unknown>) {
  const { client } = await connectClient(slug, { 'X-Igris-User': user });
  try {
    await client.listTools();
    await client.callTool({ name, arguments: args });
  } finally {
    await client.close();
  }
}

describe('policy editor: replay and schema warnings (real Chromium)', () => {
  beforeAll(async () => {
    await ensureConnection(slug, `${inject('upstreamUrl')}/stateless`, null);
    await setPolicy(slug, [{ tool: '*', action: 'allow' }]);
    await callAs('alice@acme.test', 'echo', { message: 'hi' });
    await callAs('bob@acme.test', 'add', { a: 1, b: 2 });
    // The two calls' own rows (type tool_call): the tool_drift rows the first tools/list writes
    // name echo and add too, and reach D1 at once, while a call's row waits for its spool's flush.
    await waitForAudit<{ id: string; type: string; tool: string | null; action: string }>(
      `connection=${slug}&limit=50`,
      (events) =>
        events.filter((e) => e.type === 'tool_call' && (e.tool === 'echo' || e.tool === 'add')).length >= 2,
    );
    // The tool inventory (recorded from the tools/list answers) is what the warnings read.
    for (let i = 0; i < 50; i++) {
      const sim = await api<{ warnings: unknown[] }>('POST', `/connections/${slug}/policy/simulate`, {
        tool: 'echo',
        rules: DRAFT,
      });
      if (sim.body.warnings.length > 0) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    browser = await signedInBrowser();
    page = browser.page;
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
  });

  it('replays the draft before publishing, runs the simulator with arguments, and shows warnings', async () => {
    await page.goto(`${gatewayUrl()}/connections/${slug}/policy`);
    await page.getByText(/Version \d+ is in force/).waitFor();
    await page.getByRole('tab', { name: 'JSON' }).click();
    await page.getByLabel('Policy document (JSON)').fill(JSON.stringify({ rules: DRAFT }, null, 2));

    await page.getByRole('button', { name: 'Replay draft over recorded calls' }).click();
    const replay = page.getByTestId('replay-result');
    await replay.getByText(/would change/).waitFor();
    const text = await replay.textContent();
    expect(text).toContain('1 of 2 recorded decisions would change');
    expect(text).toContain('rule #1: 1');
    expect(text).toContain('bob@acme.test: 1');

    const simulator = page.getByRole('region', { name: 'Simulator' });
    await simulator.getByLabel('Tool', { exact: true }).fill('echo');
    await simulator.getByLabel('Arguments (JSON)').fill('{"message": "hi"}');
    await simulator.getByRole('button', { name: 'Simulate' }).click();
    const warnings = page.getByTestId('simulation-warnings');
    await warnings.waitFor();
    expect(await warnings.textContent()).toContain('args.nonexistent');
    const result = page.getByTestId('simulation-result');
    await result.getByText('rule #3').waitFor();

    await page.getByRole('button', { name: 'Save and publish' }).click();
    const saved = page.getByTestId('policy-warnings');
    await saved.waitFor();
    expect(await saved.textContent()).toContain('args.nonexistent');
    expect(browser.errors.filter((e) => e.startsWith('pageerror'))).toEqual([]);
  }, 120_000);

  it('an approval held for session taint shows what the session touched', async () => {
    await setPolicy(slug, [
      { tool: 'echo', action: 'allow', labels: ['untrusted_input'] },
      { tool: 'add', action: 'allow', cleanOf: ['untrusted_input'], onTaint: 'approve' },
    ]);
    const session = { 'X-Igris-User': 'carol@acme.test', 'X-Igris-Trace-Id': `ui-taint-${run}` };
    const { client } = await connectClient(slug, session);
    await client.callTool({ name: 'echo', arguments: { message: 'untrusted page' } });
    const held = (await client
      .callTool({ name: 'add', arguments: { a: 2, b: 3 } })
      .catch((e: unknown) => e)) as {
      code: number;
      data: { approvalId: string; approvalUrl: string };
    };
    await client.close();
    expect(held.code).toBe(-32015);
    await page.goto(held.data.approvalUrl);
    await page.getByRole('heading', { level: 1, name: 'Approvals' }).waitFor();
    // The page shows the approval on its own and in the pending list: the first is the one opened.
    const taint = page.getByTestId(`approval-taint-${held.data.approvalId}`).first();
    await taint.waitFor();
    expect(await taint.textContent()).toContain('untrusted_input');
  }, 120_000);
});
