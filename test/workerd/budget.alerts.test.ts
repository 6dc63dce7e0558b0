/**
 * Budget alerts with the real BudgetCounter and MetricsHub objects and the fake LLM provider: a
 * warn-only budget raises one `warning` and one `limit` alert in its period however many calls pass
 * them; a block budget's first refusal raises its `limit` alert once; both are routed to a channel
 * that takes `budget` events (a delivery row each). Prices as in budgets.test.ts: a call costs $0.018.
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import type { AlertDto } from '../../workers/alerts/alerts.schemas';
import { call, createApiKeyVia, createOrg, expectJson, type TestOrg } from './helpers';

const RUN = Date.now().toString(36);
const SLUG = `llm-budget-alerts-${RUN}`;
const CHAT = { model: 'fake-gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] };
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let org: TestOrg;

async function chat(key: string): Promise<number> {
  const res = await call('POST', `/llm/${SLUG}/v1/chat/completions`, { key, body: CHAT });
  await res.body?.cancel();
  return res.status;
}

async function budgetAlerts(budgetId: string, ready: (a: AlertDto[]) => boolean): Promise<AlertDto[]> {
  let mine: AlertDto[] = [];
  for (let i = 0; i < 80; i++) {
    const res = await call('GET', '/api/v1/alerts?type=budget&limit=200', { key: org.key });
    const page = await expectJson<{ alerts: AlertDto[] }>(res, 200);
    mine = page.alerts.filter((a) => a.details.budgetId === budgetId);
    if (ready(mine)) return mine;
    await sleep(250);
  }
  throw new Error(`budget alerts never arrived: ${JSON.stringify(mine)}`);
}

/** Waits for spend to settle (settles run off the hot path) before the next call. */
async function settled(budgetId: string): Promise<void> {
  for (;;) {
    const res = await call('GET', `/api/v1/budgets/${budgetId}`, { key: org.key });
    if ((await expectJson<{ status: { inFlight: number } }>(res, 200)).status.inFlight === 0) return;
    await sleep(20);
  }
}

beforeAll(async () => {
  org = await createOrg('owner');
  const created = await call('POST', '/api/v1/connections', {
    key: org.key,
    body: {
      slug: SLUG,
      name: SLUG,
      type: 'llm',
      upstreamUrl: `${env.LLM_FAKE_URL}/v1`,
      credential: env.LLM_FAKE_KEY,
      settings: { provider: 'openai-compatible' },
    },
  });
  expect(created.status).toBe(201);
  const policy = await call('PUT', `/api/v1/connections/${SLUG}/policy`, {
    key: org.key,
    body: { rules: [{ tool: '*', action: 'allow' }] },
  });
  expect(policy.status).toBe(200);
  const price = await call('PUT', '/api/v1/llm/prices', {
    key: org.key,
    body: { provider: 'openai-compatible', model: 'fake-gpt', inputPerMTok: 1000, outputPerMTok: 1000 },
  });
  expect(price.status).toBe(200);
  const channel = await call('POST', '/api/v1/alerts/channels', {
    key: org.key,
    body: {
      type: 'webhook',
      name: 'budgets',
      url: `${env.UPSTREAM_RECORDER_URL}/budget-alerts`,
      secret: 'whsec-budget-alerts-0123',
      eventTypes: ['budget'],
    },
  });
  expect(channel.status).toBe(201);
});

describe('budget alerts', () => {
  it('a warn-only budget raises its warning and its limit once per period, routed to the channel', {
    timeout: 40_000,
  }, async () => {
    const caller = await createApiKeyVia(org.key, `warn-${RUN}`);
    const res = await call('POST', '/api/v1/budgets', {
      key: org.key,
      body: {
        scope: 'apiKey',
        scopeRef: caller.id,
        limitUsd: 0.05,
        warnAtPercent: 50,
        enforcement: 'warn',
        name: 'team-x',
      },
    });
    const { id } = await expectJson<{ id: string }>(res, 201);
    for (let i = 0; i < 5; i++) {
      expect(await chat(caller.key)).toBe(200);
      await settled(id);
    }
    const alerts = await budgetAlerts(id, (a) => a.length >= 2);
    await sleep(500); // a second alert of either kind would have arrived by now
    const again = await budgetAlerts(id, () => true);
    expect(again.map((a) => [a.details.kind, a.severity, a.count]).sort()).toEqual([
      ['limit', 'high', 1],
      ['warning', 'medium', 1],
    ]);
    expect(alerts.find((a) => a.details.kind === 'warning')!.title).toBe('Budget team-x passed 50% of $0.05');

    // Each new alert was routed to the channel that takes budget events.
    const ids = again.map((a) => a.id).sort();
    for (let i = 0; i < 80; i++) {
      const { results } = await env.DB.prepare(
        "SELECT alert_id FROM notify_deliveries WHERE org_id = ? AND event_type = 'budget'",
      )
        .bind(org.orgId)
        .all<{ alert_id: string }>();
      const routed = results.map((r) => r.alert_id).filter((a) => ids.includes(a));
      if (routed.length === 2) break;
      if (i === 79) throw new Error(`budget alerts not routed: ${JSON.stringify(results)}`);
      await sleep(250);
    }
  });

  it('a block budget raises its limit alert on the first refusal only', { timeout: 40_000 }, async () => {
    const caller = await createApiKeyVia(org.key, `block-${RUN}`);
    const res = await call('POST', '/api/v1/budgets', {
      key: org.key,
      body: { scope: 'apiKey', scopeRef: caller.id, limitUsd: 0.03, warnAtPercent: 100, name: 'tight' },
    });
    const { id } = await expectJson<{ id: string }>(res, 201);
    expect(await chat(caller.key)).toBe(200);
    await settled(id);
    for (let i = 0; i < 3; i++) expect(await chat(caller.key)).toBe(402);
    await budgetAlerts(id, (a) => a.length >= 1);
    await sleep(500);
    const alerts = await budgetAlerts(id, () => true);
    expect(alerts.map((a) => [a.details.kind, a.count])).toEqual([['limit', 1]]);
  });
});
