/**
 * The deliveries of an organization's notifications: the list (with the dead-letter list as
 * `status=dead`), replay of a dead letter, and the channel "send test" (one attempt, answered at
 * once, no retries, no row). Scoped to the principal's organization; another's is 404.
 */
import type { Principal } from '../app.types';
import { adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import { channelOf, loadChannel, openSecret, requireChannelRead } from './notify.channels';
import { type DeliverEnv, enqueueDeliveries, sendOnce, testEvent } from './notify.deliver';
import type { DeliveryDto, DeliveryListQuery } from './notify.schemas';

type DbDelivery = {
  id: string;
  channel_id: string;
  event_type: string;
  alert_id: string | null;
  payload: string;
  status: DeliveryDto['status'];
  attempts: number;
  last_error: string | null;
  created_at: number;
  updated_at: number;
  delivered_at: number | null;
};

function dto(row: DbDelivery): DeliveryDto {
  const payload = parseStoredJson(row.payload) as { title?: unknown } | null;
  return {
    id: row.id,
    channelId: row.channel_id,
    eventType: row.event_type,
    alertId: row.alert_id,
    title: typeof payload?.title === 'string' ? payload.title : '',
    status: row.status,
    attempts: row.attempts,
    lastError: row.last_error,
    createdAt: iso(row.created_at)!,
    updatedAt: iso(row.updated_at)!,
    deliveredAt: iso(row.delivered_at),
  };
}

function badCursor(): AppError {
  return new AppError('validation_failed', {
    message: 'Invalid cursor',
    details: { location: 'query', path: 'cursor' },
  });
}

function decodeCursor(cursor: string): { at: number; id: string } {
  let decoded: string;
  try {
    decoded = atob(cursor);
  } catch {
    throw badCursor();
  }
  const [at, id] = decoded.split(':');
  if (!id || !Number.isFinite(Number(at))) throw badCursor();
  return { at: Number(at), id };
}

export async function listDeliveries(
  env: DeliverEnv,
  principal: Principal,
  query: DeliveryListQuery,
): Promise<{ deliveries: DeliveryDto[]; nextCursor: string | null }> {
  requireChannelRead(principal);
  const where = ['org_id = ?'];
  const binds: unknown[] = [principal.orgId];
  if (query.status) {
    where.push('status = ?');
    binds.push(query.status);
  }
  if (query.channelId) {
    where.push('channel_id = ?');
    binds.push(query.channelId);
  }
  if (query.cursor) {
    const { at, id } = decodeCursor(query.cursor);
    where.push('(created_at < ? OR (created_at = ? AND id < ?))');
    binds.push(at, at, id);
  }
  const { results } = await env.DB.prepare(
    `SELECT * FROM notify_deliveries WHERE ${where.join(' AND ')} ORDER BY created_at DESC, id DESC LIMIT ?`,
  )
    .bind(...binds, query.limit + 1)
    .all<DbDelivery>();
  const page = results.slice(0, query.limit);
  const last = page[page.length - 1];
  return {
    deliveries: page.map(dto),
    nextCursor: results.length > query.limit && last ? btoa(`${last.created_at}:${last.id}`) : null,
  };
}

async function one(db: D1Database, orgId: string, id: string): Promise<DbDelivery> {
  const row = await db
    .prepare('SELECT * FROM notify_deliveries WHERE id = ? AND org_id = ?')
    .bind(id, orgId)
    .first<DbDelivery>();
  if (!row) {
    throw new AppError('not_found', {
      message: 'Delivery not found',
      details: { location: 'path', path: 'id' },
    });
  }
  return row;
}

/** A dead letter goes back to the queue with a fresh set of attempts (audited: notify_delivery.replay). */
export async function replayDelivery(
  env: DeliverEnv,
  principal: Principal,
  id: string,
): Promise<DeliveryDto> {
  requirePermission(principal, 'org:write');
  const row = await one(env.DB, principal.orgId, id);
  if (row.status !== 'dead') {
    throw new AppError('conflict', {
      message: `Only a dead delivery can be replayed; this one is ${row.status}`,
      details: { location: 'path', path: 'id' },
    });
  }
  const stillDead = {
    sql: "SELECT 1 FROM notify_deliveries WHERE id = ? AND org_id = ? AND status = 'dead'",
    binds: [id, principal.orgId],
  };
  await env.DB.batch([
    // Before the update, in the same transaction: of two replays racing, only the one that finds
    // the letter still dead (and so changes it) writes the row.
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'notify_delivery.replay',
        details: {
          deliveryId: id,
          channelId: row.channel_id,
          eventType: row.event_type,
          attempts: row.attempts,
        },
      },
      stillDead,
    ),
    env.DB.prepare(
      `UPDATE notify_deliveries SET status = 'pending', attempts = 0, last_error = NULL, updated_at = ?
       WHERE id = ? AND org_id = ? AND status = 'dead'`,
    ).bind(Date.now(), id, principal.orgId),
  ]);
  await enqueueDeliveries(env, principal.orgId, [id]);
  return dto(await one(env.DB, principal.orgId, id));
}

/** One attempt of a test event, answered at once (the button in the dashboard). */
export async function testChannel(
  env: DeliverEnv,
  principal: Principal,
  id: string,
): Promise<{ ok: boolean; error: string | null }> {
  requirePermission(principal, 'org:write');
  const channel = channelOf(await loadChannel(env.DB, principal.orgId, id));
  const event = testEvent();
  const result = await sendOnce(env, channel, await openSecret(env, channel), `dlv_test_${event.id}`, event);
  return { ok: result.ok, error: result.ok ? null : result.error };
}
