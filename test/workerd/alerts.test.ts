/**
 * The alert inbox: a deny spike and kill-switch refusals raise alerts (deduplicated by
 * fingerprint, counted), listed with filters and cursor pages; the status workflow with assignee
 * and comment, refused transitions, bulk changes, a new alert once the old one is resolved, and
 * isolation between organizations and roles.
 */
import { describe, expect, it } from 'vitest';
import { DENY_SPIKE } from '../../durable-objects/alert.rules';
import type { AlertDto } from '../../workers/alerts/alerts.schemas';
import { addMember, call, createConnection, createOrg, json, mcp, putPolicy, type TestOrg } from './helpers';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function tool(slug: string, org: TestOrg, name: string) {
  const res = await mcp(slug, 'tools/call', { name, arguments: { message: 'x' } }, { key: org.key });
  await res.text();
  return res.status;
}

async function alerts(org: TestOrg, query = ''): Promise<{ alerts: AlertDto[]; nextCursor: string | null }> {
  const res = await call('GET', `/api/v1/alerts${query}`, { key: org.key });
  expect(res.status).toBe(200);
  return json(res);
}

/** Alerts reach D1 through the organization's hub about a second after the calls. */
async function alertsUntil(org: TestOrg, ready: (a: AlertDto[]) => boolean, query = '') {
  for (let i = 0; i < 60; i++) {
    const page = await alerts(org, query);
    if (ready(page.alerts)) return page.alerts;
    await sleep(250);
  }
  throw new Error('alerts never arrived');
}

describe('alert inbox', () => {
  it('raises deny-spike and kill-switch alerts, deduplicated and counted, with filters and pages', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    const { id: connectionId } = await createConnection('alerts-a', { key: org.key });
    await putPolicy(
      'alerts-a',
      [
        { tool: 'echo', action: 'allow' },
        { tool: '*', action: 'deny' },
      ],
      org.key,
    );
    for (let i = 0; i < DENY_SPIKE; i++) expect(await tool('alerts-a', org, 'forbidden')).toBe(200);

    const [spike] = await alertsUntil(org, (a) => a.some((x) => x.type === 'deny_spike'), '?type=deny_spike');
    expect(spike).toMatchObject({
      type: 'deny_spike',
      severity: 'medium',
      status: 'open',
      connectionId,
      count: 1,
      fingerprint: `deny_spike:${connectionId}`,
    });

    const kill = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'connection', target: 'alerts-a', reason: 'test' },
    });
    expect(kill.status).toBe(201);
    const { id: killSwitchId } = await json<{ id: string }>(kill);
    for (let i = 0; i < 3; i++) expect(await tool('alerts-a', org, 'echo')).not.toBe(200);
    const killed = await alertsUntil(org, (a) => (a.find((x) => x.type === 'kill_switch')?.count ?? 0) >= 3);
    const alert = killed.find((x) => x.type === 'kill_switch')!;
    expect(alert).toMatchObject({ severity: 'high', count: 3, fingerprint: `kill_switch:${killSwitchId}` });
    expect(killed.filter((x) => x.type === 'kill_switch')).toHaveLength(1);

    // Filters and cursor pages.
    expect((await alerts(org, '?severity=high')).alerts.map((a) => a.type)).toEqual(['kill_switch']);
    const first = await alerts(org, '?limit=1');
    expect(first.alerts).toHaveLength(1);
    const second = await alerts(org, `?limit=1&cursor=${encodeURIComponent(first.nextCursor!)}`);
    expect(second.alerts).toHaveLength(1);
    expect(second.alerts[0]!.id).not.toBe(first.alerts[0]!.id);
    expect(second.nextCursor).toBeNull();
  });

  it('moves through open → acknowledged → resolved, refuses other jumps, and opens a new alert after', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    await createConnection('alerts-b', { key: org.key });
    await putPolicy('alerts-b', [{ tool: '*', action: 'deny' }], org.key);
    for (let i = 0; i < DENY_SPIKE; i++) await tool('alerts-b', org, 'x');
    const [alert] = await alertsUntil(org, (a) => a.length > 0);
    const patch = (id: string, body: unknown, key = org.key) =>
      call('PATCH', `/api/v1/alerts/${id}`, { key, body });

    const acked = await patch(alert!.id, {
      status: 'acknowledged',
      assignee: 'sec@example.com',
      comment: 'looking',
    });
    expect(acked.status).toBe(200);
    expect(await json(acked)).toMatchObject({
      status: 'acknowledged',
      assignee: 'sec@example.com',
      comment: 'looking',
    });
    expect(await json(await patch(alert!.id, { status: 'resolved' }))).toMatchObject({ status: 'resolved' });
    const jump = await patch(alert!.id, { status: 'acknowledged' });
    expect(jump.status).toBe(409);

    // Another organization's alert is not found; an auditor reads but may not change it.
    const other = await createOrg('owner');
    expect((await patch(alert!.id, { status: 'open' }, other.key)).status).toBe(404);
    expect((await alerts(other)).alerts).toEqual([]);
    const auditor = await addMember(org.orgId, 'auditor');
    expect((await call('GET', '/api/v1/alerts', { key: auditor.key })).status).toBe(200);
    expect((await patch(alert!.id, { status: 'open' }, auditor.key)).status).toBe(403);
    const developer = await addMember(org.orgId, 'developer');
    expect((await call('GET', '/api/v1/alerts', { key: developer.key })).status).toBe(403);

    // Bulk: dismiss what is open; the resolved one can only be reopened.
    const bulk = await call('POST', '/api/v1/alerts/bulk', {
      key: org.key,
      body: { ids: [alert!.id, 'alt_unknown'], status: 'dismissed' },
    });
    expect(await json(bulk)).toEqual({
      updated: [],
      failed: [
        { id: alert!.id, code: 'conflict' },
        { id: 'alt_unknown', code: 'not_found' },
      ],
    });

    // Once resolved, the next occurrence of the same fingerprint is a new open alert.
    const kill = await call('POST', '/api/v1/kill-switch', {
      key: org.key,
      body: { scope: 'connection', target: 'alerts-b' },
    });
    expect(kill.status).toBe(201);
    await tool('alerts-b', org, 'x');
    const [first] = await alertsUntil(org, (a) => a.length > 0, '?type=kill_switch');
    expect(await json(await patch(first!.id, { status: 'resolved' }))).toMatchObject({ status: 'resolved' });
    await tool('alerts-b', org, 'x');
    const both = await alertsUntil(org, (a) => a.length === 2, '?type=kill_switch');
    expect(both.map((a) => [a.fingerprint, a.status]).sort()).toEqual([
      [first!.fingerprint, 'open'],
      [first!.fingerprint, 'resolved'],
    ]);
    // Reopening the old one while the new one is active would make two active alerts: refused.
    expect((await patch(first!.id, { status: 'open' })).status).toBe(409);
  });

  it('raises a policy alert when an `alert` rule matches: the call is forwarded, repeats are counted', {
    timeout: 30_000,
  }, async () => {
    const org = await createOrg('owner');
    await createConnection('alert-rule', { key: org.key });
    await putPolicy('alert-rule', [{ tool: 'echo', action: 'alert' }], org.key);
    expect(await tool('alert-rule', org, 'echo')).toBe(200);
    expect(await tool('alert-rule', org, 'echo')).toBe(200);
    const [alert] = await alertsUntil(
      org,
      (a) => a.some((x) => x.type === 'policy' && x.count >= 2),
      '?type=policy',
    );
    expect(alert).toMatchObject({
      type: 'policy',
      severity: 'medium',
      status: 'open',
      fingerprint: expect.stringMatching(/^policy:con_\w+:0:echo$/),
    });
  });
});
