/**
 * Reading the audit trail. Every statement is scoped to `principal.orgId`; a Developer (audit:read
 * on own connections) sees only rows of connections their user created.
 *
 * Paging is keyset on (created_at, id), newest first: a page costs the same however deep it is,
 * and rows flushed late by a spool (with an older created_at) never shift the pages after them.
 */
import type { Principal } from '../app.types';
import { ownOnly, requireOnResource, requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { LIFECYCLE_SQL, OUTCOME_SQL } from '../shared/audit.outcome';
import {
  type AuditEventDbRow,
  type AuditEventDto,
  type AuditFilters,
  type AuditListQuery,
  type CursorPosition,
  encodeCursor,
  MAX_PAGE,
  TRACE_LIMIT,
  toAuditEventDto,
} from './audit.schemas';

const SELECT = `SELECT id, org_id, type, connection_id, connection_slug, session_id, mcp_session_id, api_key_id,
  actor, "user", trace_id, metadata, metadata_error, method, tool, action, rule_index, policy_version,
  upstream_status, latency_ms, error_code, details, model, input_tokens, cached_input_tokens, output_tokens,
  reasoning_tokens, cost_usd, created_at FROM audit_events`;

export interface Where {
  sql: string;
  binds: unknown[];
}

function notFound(what: string, path: string): AppError {
  return new AppError('not_found', { message: `${what} not found`, details: { location: 'path', path } });
}

/** The Developer restriction: rows of connections their user created (none for a user-less key). */
export function ownClause(principal: Principal, where: Where): void {
  if (!ownOnly(principal, 'audit:read')) return;
  if (principal.userId === null) {
    where.sql += ' AND 0';
    return;
  }
  where.sql += ' AND connection_id IN (SELECT id FROM connections WHERE org_id = ? AND created_by = ?)';
  where.binds.push(principal.orgId, principal.userId);
}

/**
 * `connection` is a slug or an id. A live connection of the organization filters by its id (and a
 * Developer asking for someone else's gets 403). Otherwise the value still finds rows of a deleted
 * connection (by its old id or slug) and refusals for a slug that never existed.
 */
async function connectionClause(
  db: D1Database,
  principal: Principal,
  value: string,
  where: Where,
): Promise<void> {
  const live = await db
    .prepare('SELECT id, created_by FROM connections WHERE org_id = ? AND (id = ? OR slug = ?)')
    .bind(principal.orgId, value, value)
    .first<{ id: string; created_by: string | null }>();
  if (live) {
    requireOnResource(principal, 'audit:read', live.created_by);
    where.sql += ' AND connection_id = ?';
    where.binds.push(live.id);
    return;
  }
  where.sql += ' AND (connection_id = ? OR connection_slug = ?)';
  where.binds.push(value, value);
}

async function buildWhere(db: D1Database, principal: Principal, filters: AuditFilters): Promise<Where> {
  requirePermission(principal, 'audit:read');
  const where: Where = { sql: ' WHERE org_id = ?', binds: [principal.orgId] };
  ownClause(principal, where);
  if (filters.connection !== undefined) await connectionClause(db, principal, filters.connection, where);
  const equal: Array<[string, string | undefined]> = [
    ['trace_id', filters.traceId],
    ['"user"', filters.user],
    ['tool', filters.tool],
    ['action', filters.action],
    ['type', filters.type],
    ['session_id', filters.session],
    ['model', filters.model],
  ];
  for (const [column, value] of equal) {
    if (value === undefined) continue;
    where.sql += ` AND ${column} = ?`;
    where.binds.push(value);
  }
  if (filters.outcome !== undefined) {
    where.sql += ` AND ${OUTCOME_SQL} = ?`;
    where.binds.push(filters.outcome);
  }
  if (filters.lifecycle === 'exclude') where.sql += ` AND NOT ${LIFECYCLE_SQL}`;
  if (filters.from !== undefined) {
    where.sql += ' AND created_at >= ?';
    where.binds.push(filters.from);
  }
  if (filters.to !== undefined) {
    where.sql += ' AND created_at < ?';
    where.binds.push(filters.to);
  }
  return where;
}

/** Rows strictly after `position` in newest-first order. Written so the (org, time) index bounds it. */
function afterClause(where: Where, position: CursorPosition | undefined): Where {
  if (!position) return where;
  return {
    sql: `${where.sql} AND created_at <= ? AND (created_at < ? OR id < ?)`,
    binds: [...where.binds, position.createdAt, position.createdAt, position.id],
  };
}

async function page(
  db: D1Database,
  where: Where,
  after: CursorPosition | undefined,
  limit: number,
): Promise<{ rows: AuditEventDbRow[]; next: CursorPosition | null }> {
  const bounded = afterClause(where, after);
  const { results } = await db
    .prepare(`${SELECT}${bounded.sql} ORDER BY created_at DESC, id DESC LIMIT ?`)
    .bind(...bounded.binds, limit + 1)
    .all<AuditEventDbRow>();
  const rows = results.slice(0, limit);
  const last = rows.at(-1);
  const next = results.length > limit && last ? { createdAt: last.created_at, id: last.id } : null;
  return { rows, next };
}

export async function listAuditEvents(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  query: AuditListQuery,
): Promise<{ events: AuditEventDto[]; nextCursor: string | null }> {
  const where = await buildWhere(env.DB, principal, query);
  const { rows, next } = await page(env.DB, where, query.cursor, query.limit);
  return { events: rows.map(toAuditEventDto), nextCursor: next ? encodeCursor(next) : null };
}

/**
 * Every matching event, newest first, one page of `pageSize` at a time: the export streams these
 * without holding more than one page in memory. Filters (and permissions) are checked before the
 * first page, so a bad request fails before any byte is sent.
 */
export async function auditPages(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  filters: AuditFilters,
  pageSize = MAX_PAGE,
): Promise<AsyncGenerator<AuditEventDto[]>> {
  const where = await buildWhere(env.DB, principal, filters);
  return (async function* pages() {
    let after: CursorPosition | undefined;
    for (;;) {
      const { rows, next } = await page(env.DB, where, after, pageSize);
      if (rows.length > 0) yield rows.map(toAuditEventDto);
      if (!next) return;
      after = next;
    }
  })();
}

export async function getAuditEvent(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  id: string,
): Promise<AuditEventDto> {
  requirePermission(principal, 'audit:read');
  const row = await env.DB.prepare(`${SELECT} WHERE org_id = ? AND id = ?`)
    .bind(principal.orgId, id)
    .first<AuditEventDbRow>();
  if (!row) throw notFound('Audit event', 'id');
  if (ownOnly(principal, 'audit:read')) {
    const connection = row.connection_id
      ? await env.DB.prepare('SELECT created_by FROM connections WHERE org_id = ? AND id = ?')
          .bind(principal.orgId, row.connection_id)
          .first<{ created_by: string | null }>()
      : null;
    requireOnResource(principal, 'audit:read', connection?.created_by ?? null);
  }
  return toAuditEventDto(row);
}

/** A trace's events, oldest first: the chain of decisions one agent task produced. */
export async function getTrace(
  env: Pick<Env, 'DB'>,
  principal: Principal,
  traceId: string,
): Promise<{ traceId: string; events: AuditEventDto[]; truncated: boolean }> {
  const where = await buildWhere(env.DB, principal, { traceId, lifecycle: 'include' });
  const { results } = await env.DB.prepare(`${SELECT}${where.sql} ORDER BY created_at ASC, id ASC LIMIT ?`)
    .bind(...where.binds, TRACE_LIMIT + 1)
    .all<AuditEventDbRow>();
  if (results.length === 0) throw notFound('Trace', 'traceId');
  return {
    traceId,
    events: results.slice(0, TRACE_LIMIT).map(toAuditEventDto),
    truncated: results.length > TRACE_LIMIT,
  };
}
