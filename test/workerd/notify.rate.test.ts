/**
 * A caller can open many alerts (an `alert` rule over a glob opens one per distinct tool name) and
 * many approvals (one per distinct held call); each is a notification. A channel is given at most
 * NOTIFY_PER_CHANNEL_PER_MINUTE deliveries a minute, so no caller can flood an organization's Slack
 * or webhook; the alerts stay in the inbox. Another channel and another organization keep theirs.
 * The last NOTIFY_URGENT_RESERVED_PER_MINUTE of a minute are `high` and `critical` events' only: a
 * flood of routine alerts cannot hold back a critical one, and a critical flood is capped too.
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import {
  NOTIFY_PER_CHANNEL_PER_MINUTE,
  NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE,
  NOTIFY_URGENT_RESERVED_PER_MINUTE,
} from '../../workers/notify/notify.rate';
import type { NotifyEvent } from '../../workers/shared/notify.message';
import { call, createOrg, json, type TestOrg } from './helpers';

function event(id: string, severity: NotifyEvent['severity'] = 'medium'): NotifyEvent {
  return {
    id,
    type: 'policy',
    severity,
    title: `Alert rule matched on c: tool_${id}`,
    alertId: id,
    connectionId: null,
    fingerprint: `policy:c:0:tool_${id}`,
    details: {},
    occurredAt: new Date().toISOString(),
  };
}

async function channel(org: TestOrg, name: string, path = '/notify-rate'): Promise<string> {
  const res = await call('POST', '/api/v1/alerts/channels', {
    key: org.key,
    body: {
      type: 'webhook',
      name,
      url: `${env.UPSTREAM_RECORDER_URL}${path}`,
      secret: 'whsec-rate-0123456789',
    },
  });
  expect(res.status).toBe(201);
  return (await json<{ id: string }>(res)).id;
}

async function route(
  org: TestOrg,
  count: number,
  prefix: string,
  severity: NotifyEvent['severity'] = 'medium',
) {
  const batch = createMessageBatch(
    'igris-notify',
    Array.from({ length: count }, (_, i) => ({
      id: `${prefix}${i}`,
      timestamp: new Date(),
      attempts: 1,
      body: { kind: 'route', orgId: org.orgId, event: event(`alt_${prefix}${i}`, severity) },
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
    // Medium alerts take the routine share; the rest of the minute is kept for high and critical.
    expect(await deliveries(org, first)).toBe(NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE);

    // A channel created later has its own bound; another organization is not touched.
    const second = await channel(org, 'second');
    await route(org, 5, 'b');
    expect(await deliveries(org, second)).toBe(5);
    expect(await deliveries(org, first)).toBe(NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE);
    const other = await createOrg('owner');
    const theirs = await channel(other, 'theirs');
    await route(other, 3, 'c');
    expect(await deliveries(other, theirs)).toBe(3);
  });
});

async function bySeverity(org: TestOrg, channelId: string): Promise<Record<string, number>> {
  const { results } = await env.DB.prepare(
    `SELECT json_extract(payload, '$.severity') AS severity, COUNT(*) AS n FROM notify_deliveries
     WHERE org_id = ? AND channel_id = ? GROUP BY severity`,
  )
    .bind(org.orgId, channelId)
    .all<{ severity: string; n: number }>();
  return Object.fromEntries(results.map((r) => [r.severity, r.n]));
}

/** What the local webhook server received whose body names `alertId`. */
async function received(alertId: string): Promise<{ path: string; headers: Record<string, string> }[]> {
  const res = await fetch(`${env.UPSTREAM_RECORDER_URL}/__log`);
  const calls = (await res.json()) as { path: string; headers: Record<string, string>; body: string }[];
  return calls.filter((c) => c.body.includes(`"alertId":"${alertId}"`));
}

describe('a share of each minute kept for high and critical notifications', () => {
  it('a critical alert after a flood of low ones is delivered to the webhook within the minute', {
    timeout: 30_000,
  }, async () => {
    const started = Date.now();
    const org = await createOrg('owner');
    const hook = await channel(org, 'urgent', '/notify-urgent');
    await route(org, NOTIFY_PER_CHANNEL_PER_MINUTE + 20, 'low', 'low');
    await route(org, 1, 'crit', 'critical');
    expect(await bySeverity(org, hook)).toEqual({
      low: NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE,
      critical: 1,
    });
    // The critical delivery goes to the real local webhook server (one attempt, as the queue makes it).
    const row = await env.DB.prepare('SELECT id FROM notify_deliveries WHERE org_id = ? AND alert_id = ?')
      .bind(org.orgId, 'alt_crit0')
      .first<{ id: string }>();
    const batch = createMessageBatch('igris-notify', [
      {
        id: 'deliver-crit',
        timestamp: new Date(),
        attempts: 1,
        body: { kind: 'deliver', orgId: org.orgId, deliveryId: row!.id },
      },
    ]);
    await worker.queue(batch, env);
    const got = await received('alt_crit0');
    expect(got.length).toBeGreaterThanOrEqual(1);
    expect(got[0]).toMatchObject({ path: '/notify-urgent', headers: { 'x-igris-delivery': row!.id } });
    // All of it inside the minute the low flood was counted in.
    expect(Date.now() - started).toBeLessThan(60_000);
  });

  it('a critical flood is capped at the channel total; low alerts never take the reserved share', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    const mixed = await channel(org, 'mixed');
    await route(org, 25, 'm-low', 'low');
    await route(org, 25, 'm-crit', 'critical');
    expect(await bySeverity(org, mixed)).toEqual({
      low: NOTIFY_ROUTINE_PER_CHANNEL_PER_MINUTE,
      critical: NOTIFY_URGENT_RESERVED_PER_MINUTE,
    });
    // Another channel flooded with critical alerts only: the whole minute, no more.
    const loud = await channel(org, 'loud');
    await route(org, NOTIFY_PER_CHANNEL_PER_MINUTE + 20, 'h-crit', 'critical');
    expect(await deliveries(org, loud)).toBe(NOTIFY_PER_CHANNEL_PER_MINUTE);
    // `high` is urgent too, and finds nothing left on a full channel.
    await route(org, 3, 'h-high', 'high');
    expect(await deliveries(org, loud)).toBe(NOTIFY_PER_CHANNEL_PER_MINUTE);
  });
});
