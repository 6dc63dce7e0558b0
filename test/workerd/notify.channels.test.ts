/**
 * Notification channels inside workerd (delivery itself is end to end: test/e2e/notify.channels.e2e.test.ts):
 * secrets sealed in the vault and never returned, who may read and change channels, another
 * organization's channel and deliveries are 404, and the queue handler's routing by severity and
 * type (one delivery row per routed channel, the same row when a route message is handled twice).
 */
import { createExecutionContext, createMessageBatch, getQueueResult } from 'cloudflare:test';
import { env } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../workers/index';
import type { NotifyEvent } from '../../workers/shared/notify.message';
import { createVault } from '../../workers/vault/vault.crypto';
import { reencryptCredentials } from '../../workers/vault/vault.reencrypt';
import { addMember, call, createOrg, json, type TestOrg } from './helpers';

const SECRET = 'whsec-workerd-0123456789';

/** The organization's admin rows of these actions, oldest first, as stored. */
async function adminRows(orgId: string, prefix: string) {
  const { results } = await env.DB.prepare(
    "SELECT action, actor, details FROM audit_events WHERE org_id = ? AND type = 'admin' AND action LIKE ? ORDER BY created_at, rowid",
  )
    .bind(orgId, `${prefix}%`)
    .all<{ action: string; actor: string; details: string }>();
  return results;
}

async function create(org: TestOrg, body: Record<string, unknown>) {
  return call('POST', '/api/v1/alerts/channels', { key: org.key, body });
}

function event(id: string, severity: NotifyEvent['severity'], type = 'kill_switch'): NotifyEvent {
  return {
    id,
    type,
    severity,
    title: `test ${id}`,
    alertId: id,
    connectionId: null,
    fingerprint: `x:${id}`,
    details: {},
    occurredAt: new Date().toISOString(),
  };
}

describe('notification channels', () => {
  it('seals secrets, never returns them, and enforces roles and organizations', async () => {
    const org = await createOrg('owner');
    const res = await create(org, {
      type: 'webhook',
      name: 'hook',
      url: `${env.UPSTREAM_RECORDER_URL}/notify-hook`,
      secret: SECRET,
    });
    expect(res.status).toBe(201);
    const channel = await json<{ id: string; url: string; minSeverity: string; eventTypes: null }>(res);
    expect(channel).toMatchObject({ minSeverity: 'info', eventTypes: null });
    expect(JSON.stringify(channel)).not.toContain(SECRET);
    const row = await env.DB.prepare('SELECT secret_ciphertext FROM notify_channels WHERE id = ?')
      .bind(channel.id)
      .first<{ secret_ciphertext: string }>();
    expect(row!.secret_ciphertext.startsWith('v1.')).toBe(true);
    expect(row!.secret_ciphertext).not.toContain(SECRET);

    const slack = await json<{ url: string }>(
      await create(org, {
        type: 'slack',
        name: 's',
        url: 'https://hooks.slack.com/services/T1/B2/SECRETPATH',
      }),
    );
    expect(slack.url).toBe('https://hooks.slack.com/…');
    const patched = await call('PATCH', `/api/v1/alerts/channels/${channel.id}`, {
      key: org.key,
      body: {
        secret: 'whsec-rotated-0123456789',
        minSeverity: 'high',
        eventTypes: ['kill_switch', 'budget'],
      },
    });
    expect(await json(patched)).toMatchObject({ minSeverity: 'high', eventTypes: ['kill_switch', 'budget'] });
    const listed = await (await call('GET', '/api/v1/alerts/channels', { key: org.key })).text();
    for (const secret of [SECRET, 'whsec-rotated', 'SECRETPATH']) expect(listed).not.toContain(secret);
    // A secret is only for webhooks.
    const wrong = await call('PATCH', `/api/v1/alerts/channels/${channel.id}`, {
      key: org.key,
      body: { token: 'x' },
    });
    expect(wrong.status).toBe(400);

    const auditor = await addMember(org.orgId, 'auditor');
    expect((await call('GET', '/api/v1/alerts/channels', { key: auditor.key })).status).toBe(200);
    expect(
      (await create(auditor, { type: 'slack', name: 'x', url: 'https://hooks.slack.com/x' })).status,
    ).toBe(403);
    const developer = await addMember(org.orgId, 'developer');
    expect((await call('GET', '/api/v1/alerts/channels', { key: developer.key })).status).toBe(403);

    const other = await createOrg('owner');
    for (const [method, path] of [
      ['GET', `/api/v1/alerts/channels/${channel.id}`],
      ['PATCH', `/api/v1/alerts/channels/${channel.id}`],
      ['POST', `/api/v1/alerts/channels/${channel.id}/test`],
      ['DELETE', `/api/v1/alerts/channels/${channel.id}`],
    ] as const) {
      const res = await call(method, path, {
        key: other.key,
        body: method === 'PATCH' ? { name: 'x' } : undefined,
      });
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    const theirs = await json<{ channels: unknown[] }>(
      await call('GET', '/api/v1/alerts/channels', { key: other.key }),
    );
    expect(theirs.channels).toEqual([]);
    expect((await call('DELETE', `/api/v1/alerts/channels/${channel.id}`, { key: org.key })).status).toBe(
      204,
    );
    expect((await call('GET', `/api/v1/alerts/channels/${channel.id}`, { key: org.key })).status).toBe(404);
  });

  it('routes an event to the channels whose severity and types take it, once', async () => {
    const org = await createOrg('owner');
    const url = `${env.UPSTREAM_RECORDER_URL}/notify-route`;
    const ids: Record<string, string> = {};
    for (const [name, routing] of [
      ['all', {}],
      ['high', { minSeverity: 'high' }],
      ['critical', { minSeverity: 'critical' }],
      ['drift', { eventTypes: ['drift'] }],
      ['off', { enabled: false }],
    ] as const) {
      const res = await create(org, { type: 'webhook', name, url, secret: SECRET, ...routing });
      ids[name] = (await json<{ id: string }>(res)).id;
    }
    const message = { kind: 'route', orgId: org.orgId, event: event('alt_route1', 'high') };
    for (let i = 0; i < 2; i++) {
      const batch = createMessageBatch('igris-notify', [
        { id: `m${i}`, timestamp: new Date(), attempts: 1, body: message },
      ]);
      const ctx = createExecutionContext();
      await worker.queue(batch, env);
      expect(await getQueueResult(batch, ctx)).toMatchObject({ explicitAcks: [`m${i}`], retryMessages: [] });
    }
    const { results } = await env.DB.prepare(
      'SELECT channel_id, event_type, alert_id FROM notify_deliveries WHERE org_id = ? ORDER BY channel_id',
    )
      .bind(org.orgId)
      .all<{ channel_id: string; event_type: string; alert_id: string }>();
    expect(results.map((r) => r.channel_id).sort()).toEqual([ids.all, ids.high].sort());
    expect(results.every((r) => r.event_type === 'kill_switch' && r.alert_id === 'alt_route1')).toBe(true);
    // Another organization sees none of them.
    const other = await createOrg('owner');
    const theirs = await json<{ deliveries: unknown[] }>(
      await call('GET', '/api/v1/alerts/deliveries', { key: other.key }),
    );
    expect(theirs.deliveries).toEqual([]);
    const [first] = results;
    const deliveries = await json<{ deliveries: Array<{ id: string }> }>(
      await call('GET', '/api/v1/alerts/deliveries', { key: org.key }),
    );
    expect(deliveries.deliveries).toHaveLength(2);
    expect(first).toBeDefined();
    const replay = await call('POST', `/api/v1/alerts/deliveries/${deliveries.deliveries[0]!.id}/replay`, {
      key: other.key,
    });
    expect(replay.status).toBe(404);
  });

  it('sends a SIEM token to no other host: moving the URL to another origin needs the token again (or none)', async () => {
    const org = await createOrg('owner');
    const admin = await addMember(org.orgId, 'admin');
    const { id } = await json<{ id: string }>(
      await create(org, {
        type: 'siem',
        name: 'hec',
        url: 'https://siem.example/hec',
        format: 'splunk_hec',
        token: 'tok-siem-secret',
      }),
    );
    const sealed = () =>
      env.DB.prepare('SELECT display_url, secret_ciphertext FROM notify_channels WHERE id = ?')
        .bind(id)
        .first();
    const before = await sealed();
    const moved = await call('PATCH', `/api/v1/alerts/channels/${id}`, {
      key: admin.key,
      body: { url: 'https://collector.attacker.example/hec' },
    });
    const text = await moved.text();
    expect(moved.status).toBe(400);
    expect(JSON.parse(text).error.details.issues[0]).toMatchObject({
      path: 'token',
      rule: 'credential_required_for_new_origin',
    });
    expect(text).not.toContain('tok-siem-secret');
    expect(await sealed()).toEqual(before);
    // Same origin keeps it; another origin with a new token, or dropping it, is fine.
    expect(
      (
        await call('PATCH', `/api/v1/alerts/channels/${id}`, {
          key: admin.key,
          body: { url: 'https://siem.example/v2' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('PATCH', `/api/v1/alerts/channels/${id}`, {
          key: admin.key,
          body: { url: 'https://other.example/hec', token: 'tok-new' },
        })
      ).status,
    ).toBe(200);
    expect(
      (
        await call('PATCH', `/api/v1/alerts/channels/${id}`, {
          key: admin.key,
          body: { url: 'https://third.example/hec', token: null },
        })
      ).status,
    ).toBe(200);
  });

  it('records creating, changing and deleting a channel in the audit trail, never its secrets', async () => {
    const org = await createOrg('owner');
    const slackPath = 'https://hooks.slack.com/services/T1/B2/SLACKSECRETPATH';
    const { id } = await json<{ id: string }>(
      await create(org, { type: 'slack', name: 'ops', url: slackPath }),
    );
    const patched = await call('PATCH', `/api/v1/alerts/channels/${id}`, {
      key: org.key,
      body: { url: 'https://hooks.slack.com/services/T1/B2/OTHERSECRETPATH', minSeverity: 'high' },
    });
    expect(patched.status).toBe(200);
    expect((await call('DELETE', `/api/v1/alerts/channels/${id}`, { key: org.key })).status).toBe(204);
    const rows = await adminRows(org.orgId, 'notify_channel.');
    expect(rows.map((r) => r.action)).toEqual([
      'notify_channel.create',
      'notify_channel.update',
      'notify_channel.delete',
    ]);
    expect(JSON.parse(rows[0]!.details)).toMatchObject({
      channelId: id,
      type: 'slack',
      url: 'https://hooks.slack.com/…',
    });
    expect(JSON.parse(rows[1]!.details)).toMatchObject({ channelId: id, changed: ['url', 'minSeverity'] });
    expect(JSON.stringify(rows)).not.toContain('SECRETPATH');
  });

  it('re-seals channel secrets under a new master key (rotation)', async () => {
    const org = await createOrg('owner');
    const res = await create(org, {
      type: 'siem',
      name: 'hec',
      url: 'https://siem.example/hec',
      format: 'splunk_hec',
      token: 'tok-rotate',
    });
    const { id } = await json<{ id: string }>(res);
    const next = btoa(String.fromCharCode(...crypto.getRandomValues(new Uint8Array(32))));
    const rotating = { DB: env.DB, ENCRYPTION_KEY: next, ENCRYPTION_KEY_PREVIOUS: env.ENCRYPTION_KEY };
    expect(await reencryptCredentials(rotating, org.orgId)).toEqual({
      checked: 1,
      reencrypted: 1,
      failed: 0,
    });
    const row = await env.DB.prepare('SELECT secret_ciphertext FROM notify_channels WHERE id = ?')
      .bind(id)
      .first<{ secret_ciphertext: string }>();
    const opened = await (await createVault({ current: next })).decrypt(
      row!.secret_ciphertext,
      `${org.orgId}:${id}:notify`,
    );
    expect(JSON.parse(opened)).toEqual({ url: 'https://siem.example/hec', token: 'tok-rotate' });
  });
});
