/**
 * The alert inbox (docs/observability.md): list with filters and cursor pages, and the status
 * workflow open → acknowledged → resolved (or dismissed), with assignee and comment. Alerts are
 * written by the organization's MetricsHub from the guards' rules (durable-objects/alert.rules.ts).
 *
 * Who: reading needs the whole organization's audit trail (owner, admin, auditor) — alerts span
 * every connection; changing an alert is for those who can pull a kill switch (owner, admin).
 * Every statement is scoped to the principal's organization: another's alert is 404. A change
 * writes an `alert.update` admin row in the same D1 batch; a patch that changes nothing writes
 * nothing (so a bulk change writes one row per alert it changed).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { forbidden, grantOf, requirePermission } from '../auth/permissions';
import type { AlertRow } from '../db/schema';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import type { AlertDto, AlertListQuery, AlertPatch, AlertStatus } from './alerts.schemas';

/** Which status may follow which: resolved and dismissed alerts can be reopened. */
const NEXT: Record<AlertStatus, readonly AlertStatus[]> = {
  open: ['acknowledged', 'resolved', 'dismissed'],
  acknowledged: ['open', 'resolved', 'dismissed'],
  resolved: ['open'],
  dismissed: ['open'],
};

type DbAlert = {
  id: string;
  type: string;
  severity: AlertRow['severity'];
  title: string;
  status: AlertStatus;
  connection_id: string | null;
  assignee: string | null;
  comment: string | null;
  count: number;
  details: string | null;
  fingerprint: string;
  first_seen_at: number;
  last_seen_at: number;
  updated_at: number;
};

function dto(row: DbAlert): AlertDto {
  return {
    id: row.id,
    type: row.type,
    severity: row.severity,
    title: row.title,
    status: row.status,
    fingerprint: row.fingerprint,
    connectionId: row.connection_id,
    assignee: row.assignee,
    comment: row.comment,
    count: row.count,
    details: (parseStoredJson(row.details) ?? {}) as Record<string, unknown>,
    firstSeenAt: iso(row.first_seen_at)!,
    lastSeenAt: iso(row.last_seen_at)!,
    updatedAt: iso(row.updated_at)!,
  };
}

function requireRead(principal: Principal): void {
  if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
}

const encodeCursor = (row: DbAlert) => btoa(`${row.last_seen_at}:${row.id}`);

function decodeCursor(cursor: string): { at: number; id: string } {
  try {
    const [at, id] = atob(cursor).split(':');
    if (!id || !Number.isFinite(Number(at))) throw new Error('bad cursor');
    return { at: Number(at), id };
  } catch {
    throw new AppError('validation_failed', {
      message: 'Invalid cursor',
      details: { location: 'query', path: 'cursor' },
    });
  }
}

export async function listAlerts(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  query: AlertListQuery,
): Promise<{ alerts: AlertDto[]; nextCursor: string | null }> {
  requireRead(principal);
  const where = ['org_id = ?'];
  const binds: unknown[] = [principal.orgId];
  for (const [column, value] of [
    ['status', query.status],
    ['type', query.type],
    ['severity', query.severity],
    ['connection_id', query.connectionId],
  ] as const) {
    if (value !== undefined) {
      where.push(`${column} = ?`);
      binds.push(value);
    }
  }
  if (query.cursor) {
    const { at, id } = decodeCursor(query.cursor);
    where.push('(last_seen_at < ? OR (last_seen_at = ? AND id < ?))');
    binds.push(at, at, id);
  }
  const { results } = await env.DB.prepare(
    `SELECT * FROM alerts WHERE ${where.join(' AND ')} ORDER BY last_seen_at DESC, id DESC LIMIT ?`,
  )
    .bind(...binds, query.limit + 1)
    .all<DbAlert>();
  const page = results.slice(0, query.limit);
  return {
    alerts: page.map(dto),
    nextCursor: results.length > query.limit ? encodeCursor(page[page.length - 1]!) : null,
  };
}

async function one(db: D1Database, orgId: string, id: string): Promise<DbAlert> {
  const row = await db
    .prepare('SELECT * FROM alerts WHERE id = ? AND org_id = ?')
    .bind(id, orgId)
    .first<DbAlert>();
  if (!row)
    throw new AppError('not_found', {
      message: 'Alert not found',
      details: { location: 'path', path: 'id' },
    });
  return row;
}

/** What an alert.update row says: the alert, the changed field names, the status and assignee moves (not the comment's text). */
function alertChange(
  current: DbAlert,
  next: Pick<DbAlert, 'status' | 'assignee' | 'comment'>,
  changed: readonly string[],
): Record<string, unknown> {
  return {
    alertId: current.id,
    type: current.type,
    title: current.title,
    changed,
    ...(next.status !== current.status ? { status: { from: current.status, to: next.status } } : {}),
    ...(next.assignee !== current.assignee
      ? { assignee: { from: current.assignee, to: next.assignee } }
      : {}),
  };
}

export async function updateAlert(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  id: string,
  patch: AlertPatch,
): Promise<AlertDto> {
  requirePermission(principal, 'killswitch:write');
  const current = await one(env.DB, principal.orgId, id);
  if (patch.status && patch.status !== current.status && !NEXT[current.status].includes(patch.status)) {
    throw new AppError('conflict', {
      message: `An alert that is ${current.status} cannot become ${patch.status}`,
      details: { location: 'body', path: 'status' },
    });
  }
  const next = {
    status: patch.status ?? current.status,
    assignee: patch.assignee === undefined ? current.assignee : patch.assignee,
    comment: patch.comment === undefined ? current.comment : patch.comment,
  };
  const changed = (['status', 'assignee', 'comment'] as const).filter((k) => next[k] !== current[k]);
  // Nothing differs: nothing is written, and no audit row records a change that did not happen.
  if (changed.length === 0) return dto(current);
  const now = Date.now();
  try {
    await env.DB.batch([
      env.DB.prepare(
        `UPDATE alerts SET status = ?, assignee = ?, comment = ?, updated_at = ? WHERE id = ? AND org_id = ?`,
      ).bind(next.status, next.assignee, next.comment, now, id, principal.orgId),
      // In the same transaction: a refused update (below) leaves no row either.
      adminAuditStatement(env.DB, principal, {
        action: 'alert.update',
        connectionId: current.connection_id,
        details: alertChange(current, next, changed),
      }),
    ]);
  } catch (err) {
    // Reopening while a newer alert with the same fingerprint is active would make two active ones.
    if (String(err).includes('UNIQUE')) {
      throw new AppError('conflict', {
        message: 'A newer alert with the same fingerprint is already open',
        details: { location: 'body', path: 'status' },
        internal: err,
      });
    }
    throw err;
  }
  return dto(await one(env.DB, principal.orgId, id));
}

/** The same status change for many alerts; each is judged alone (the report says which failed). */
export async function bulkUpdateAlerts(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  ids: string[],
  status: AlertStatus,
): Promise<{ updated: string[]; failed: Array<{ id: string; code: string }> }> {
  requirePermission(principal, 'killswitch:write');
  const updated: string[] = [];
  const failed: Array<{ id: string; code: string }> = [];
  for (const id of ids) {
    try {
      await updateAlert(env, principal, id, { status });
      updated.push(id);
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      failed.push({ id, code: err.code });
    }
  }
  return { updated, failed };
}
