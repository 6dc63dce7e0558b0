/**
 * A caller can open many alerts (an `alert` rule over a glob opens one per distinct tool name) and
 * many approvals (one per distinct held call); each is a notification. A channel is given at most
 * NOTIFY_PER_CHANNEL_PER_MINUTE deliveries a minute, so no caller can flood an organization's Slack
 * or webhook; the alerts stay in the inbox. Another channel and another organization keep theirs.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import { NOTIFY_PER_CHANNEL_PER_MINUTE } from '../../workers/notify/notify.deliver';
import type { NotifyEvent } from '../../workers/shared/notify.message';
import { call, createOrg, json, type TestOrg } from './helpers';

function event(id: string): NotifyEvent {
  return {
    id,
    type: 'policy',
    severity: 'medium',
    title: `Alert rule matched on c: tool_${id}`,
    alertId: id,
    connectionId: null,
    fingerprint: `policy:c:0:tool_${id}`,
    details: {},
    occurredAt: new Date().toISOString(),
  };
}

async function channel(org: TestOrg, name: string): Promise<string> {
  const res = await call('POST', '/api/v1/alerts/channels', {
    key: org.key,
    body: {
      type: 'webhook',
      name,
      url: `${env.UPSTREAM_RECORDER_URL}/notify-rate`,
      secret: 'whsec-rate-0123456789',
    },
  });
  expect(res.status).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function route(org: TestOrg, count: number, prefix: string) {
  const batch = createMessageBatch(
    'igris-notify',
    Array.from({ length: count }, (_, i) => ({
      id: `${prefix}${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { kind: 'route', orgId: org.orgId, event: event(`alt_${prefix}${i}`) },
    })),
  );
  const ctx = createExecutionContext();
  await worker.queue(batch, env);
  expect((await getQueueResult(batch, ctx)).retryMessages).toEqual([]);
}

async function deliveries(org: TestOrg, channelId: string): Promise<number> {
  const row = await env.DB.prepare(
    'SELECT COUNT(*) AS n FROM notify_deliveries WHERE org_id = ? AND channel_id = ?',
  )
    .bind(org.orgId, channelId)
    .first<{ n: number }>();
  return row!.n;
}

describe('notification rate per channel', () => {
  it('a flood of distinct alerts gives a channel at most the per-minute bound', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    const first = await channel(org, 'first');
    await route(org, NOTIFY_PER_CHANNEL_PER_MINUTE + 20, 'a');
    expect(await deliveries(org, first)).toBe(NOTIFY_PER_CHANNEL_PER_MINUTE);

    // A channel created later has its own bound; another organization is not touched.
    const second = await channel(org, 'second');
    await route(org, 5, 'b');
    expect(await deliveries(org, second)).toBe(5);
    expect(await deliveries(org, first)).toBe(NOTIFY_PER_CHANNEL_PER_MINUTE);
    const other = await createOrg('owner');
    const theirs = await channel(other, 'theirs');
    await route(other, 3, 'c');
    expect(await deliveries(other, theirs)).toBe(3);
  });
});
