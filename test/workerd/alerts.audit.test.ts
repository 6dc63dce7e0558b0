/**
 * Changes to the alert inbox and to notification deliveries are audited (docs/audit.md): a status,
 * assignee or comment change writes one `alert.update` row (the changed field names, the status and
 * assignee moves, never the comment's text), a bulk change one per alert it changed, a replayed
 * dead letter one `notify_delivery.replay` row — and a patch that changes nothing, a refused
 * transition or a refused replay writes none. (Both were unaudited.)
 */
import { env } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { randomId } from '../../workers/lib/ids';
import { webhookChannel } from './api.routes.matrix.fixtures';
import { call, createOrg, expectJson, type TestOrg } from './helpers';

let org: TestOrg;
let channelId: string;

async function insertAlert(status = 'open'): Promise<string> {
  const id = randomId('alt');
  const now = Date.now();
  await env.DB.prepare(
    `INSERT INTO alerts (id, org_id, fingerprint, type, severity, title, status, first_seen_at, last_seen_at, updated_at)
     VALUES (?, ?, ?, 'anomaly', 'high', 'deny spike', ?, ?, ?, ?)`,
  )
    .bind(id, org.orgId, id, status, now, now, now)
    .run();
  return id;
}

async function insertDelivery(status: string): Promise<string> {
  const id = randomId('dlv');
  await env.DB.prepare(
    `INSERT INTO notify_deliveries (id, org_id, channel_id, event_type, payload, status, attempts, updated_at)
     VALUES (?, ?, ?, 'alert', '{}', ?, 5, ?)`,
  )
    .bind(id, org.orgId, channelId, status, Date.now())
    .run();
  return id;
}

const patch = (id: string, body: unknown) => call('PATCH', `/api/v1/alerts/${id}`, { key: org.key, body });
/** The organization's admin rows of one action, in the order they were written. */
async function rowsOf(action: string) {
  const { results } = await env.DB.prepare(
    "SELECT * FROM audit_events WHERE org_id = ? AND type = 'admin' AND action = ? ORDER BY rowid",
  )
    .bind(org.orgId, action)
    .all<{ details: string }>();
  return results.map((row) => ({ ...row, details: JSON.parse(row.details) as Record<string, unknown> }));
}

beforeAll(async () => {
  org = await createOrg('owner');
  const res = await call('POST', '/api/v1/alerts/channels', {
    key: org.key,
    body: webhookChannel('alaudit'),
  });
  channelId = (await expectJson<{ id: string }>(res, 201)).id;
});

describe('audit of the alert inbox', () => {
  it('records a change with its fields and moves (not the comment text); a no-op or refused change writes nothing', async () => {
    const id = await insertAlert();
    await expectJson(
      await patch(id, { status: 'acknowledged', assignee: 'sec@example.com', comment: 'private note' }),
      200,
    );
    const rows = await rowsOf('alert.update');
    expect(rows).toHaveLength(1);
    expect(rows[0]!.details).toEqual({
      alertId: id,
      type: 'anomaly',
      title: 'deny spike',
      changed: ['status', 'assignee', 'comment'],
      status: { from: 'open', to: 'acknowledged' },
      assignee: { from: null, to: 'sec@example.com' },
    });
    expect(JSON.stringify(rows[0])).not.toContain('private note');

    // The same values again change nothing: no row (and the alert is not touched).
    const before = await env.DB.prepare('SELECT updated_at FROM alerts WHERE id = ?').bind(id).first();
    await expectJson(await patch(id, { status: 'acknowledged', assignee: 'sec@example.com' }), 200);
    expect(await env.DB.prepare('SELECT updated_at FROM alerts WHERE id = ?').bind(id).first()).toEqual(
      before,
    );
    // A transition the workflow refuses: no row either.
    await expectJson(await patch(id, { status: 'resolved' }), 200);
    expect((await patch(id, { status: 'acknowledged' })).status).toBe(409);
    expect((await rowsOf('alert.update')).map((r) => r.details.changed)).toEqual([
      ['status', 'assignee', 'comment'],
      ['status'],
    ]);
  });

  it('records a bulk change once per alert it changed, none for those it refused or did not find', async () => {
    const [open, resolved] = [await insertAlert('open'), await insertAlert('resolved')];
    const already = await insertAlert('dismissed');
    const before = (await rowsOf('alert.update')).length;
    const res = await call('POST', '/api/v1/alerts/bulk', {
      key: org.key,
      body: { ids: [open, resolved, already, 'alt_unknown'], status: 'dismissed' },
    });
    expect(await expectJson(res, 200)).toMatchObject({ updated: [open, already] });
    const rows = (await rowsOf('alert.update')).slice(before);
    expect(rows.map((r) => [r.details.alertId, r.details.status])).toEqual([
      [open, { from: 'open', to: 'dismissed' }],
    ]);
  });
});

describe('audit of notification deliveries', () => {
  it('records the replay of a dead letter; replaying one that is not dead writes nothing', async () => {
    const dead = await insertDelivery('dead');
    await expectJson(await call('POST', `/api/v1/alerts/deliveries/${dead}/replay`, { key: org.key }), 200);
    expect((await rowsOf('notify_delivery.replay')).map((r) => r.details)).toEqual([
      { deliveryId: dead, channelId, eventType: 'alert', attempts: 5 },
    ]);
    const failed = await insertDelivery('failed');
    expect((await call('POST', `/api/v1/alerts/deliveries/${failed}/replay`, { key: org.key })).status).toBe(
      409,
    );
    expect((await call('POST', `/api/v1/alerts/deliveries/${dead}/replay`, { key: org.key })).status).toBe(
      409,
    );
    expect(await rowsOf('notify_delivery.replay')).toHaveLength(1);
  });
});
