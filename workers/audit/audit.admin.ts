/**
 * Administrative audit rows: written in the same D1 batch (transaction) as the change they
 * describe, so a change and its record can't exist without each other. They carry the actor and
 * a summary of what changed — names of fields, never secret values.
 *
 * The same INSERT records people's authentication events (type `auth`: sign-in, sign-out,
 * password changes…) through authAuditStatement: those may have no organization (a sign-in
 * attempt for an address nobody has) and no principal yet. The rows themselves are built by
 * workers/shared/audit.row.ts (`directRow`), like every other audit row.
 */
import type { Principal } from '../app.types';
import { type DirectAuditType, type DirectRow, directRow } from '../shared/audit.row';

export interface AdminChange {
  action: string;
  /** `admin` unless the change is to an agent session (`session`) or a person's sign-in (`auth`). */
  type?: DirectAuditType;
  connectionId?: string | null;
  connectionSlug?: string | null;
  sessionId?: string | null;
  details?: Record<string, unknown>;
}

export function adminAuditStatement(
  db: D1Database,
  principal: Principal,
  change: AdminChange,
): D1PreparedStatement {
  return directRowStatement(db, adminRow(principal, change));
}

/**
 * The same row, written only when `guard` (an SQL `EXISTS` subquery with its bindings) holds: the
 * record of a create that a count limit may refuse (workers/shared/count.limits.ts) is written only
 * if the created row is there.
 */
export function adminAuditStatementIf(
  db: D1Database,
  principal: Principal,
  change: AdminChange,
  guard: { sql: string; binds: unknown[] },
): D1PreparedStatement {
  return directRowStatementIf(db, adminRow(principal, change), guard);
}

function adminRow(principal: Principal, change: AdminChange): DirectRow {
  return directRow({
    orgId: principal.orgId,
    type: change.type ?? 'admin',
    connectionId: change.connectionId ?? null,
    connectionSlug: change.connectionSlug ?? null,
    sessionId: change.sessionId ?? null,
    apiKeyId: principal.apiKeyId,
    actor: principal.actor,
    user: null,
    action: change.action,
    details: change.details ?? {},
  });
}

export interface AuthEvent {
  action: string;
  /** The organization whose trail records it; null when the person has none (or is unknown). */
  orgId: string | null;
  /** The account concerned, when known: the row's actor is `user:<id>`. */
  userId: string | null;
  /** The email address concerned (lower-cased), so the trail can be searched by `user`. */
  email: string | null;
  /** Never passwords, tokens or cookies: a method, a reason, a count. */
  details?: Record<string, unknown>;
}

/** A type `auth` row: an authentication event of a person (no API key, no connection). */
export function authAuditStatement(db: D1Database, event: AuthEvent): D1PreparedStatement {
  return directRowStatement(db, authRow(event));
}

/** The same row, written only when `guard` holds (as adminAuditStatementIf). */
export function authAuditStatementIf(
  db: D1Database,
  event: AuthEvent,
  guard: { sql: string; binds: unknown[] },
): D1PreparedStatement {
  return directRowStatementIf(db, authRow(event), guard);
}

function authRow(event: AuthEvent): DirectRow {
  return directRow({
    orgId: event.orgId,
    type: 'auth',
    connectionId: null,
    connectionSlug: null,
    sessionId: null,
    apiKeyId: null,
    actor: event.userId ? `user:${event.userId}` : null,
    user: event.email?.toLowerCase() ?? null,
    action: event.action,
    details: event.details ?? {},
  });
}

export function directRowStatement(db: D1Database, row: DirectRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, session_id, api_key_id, actor, user, action, details, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(
      row.id,
      row.orgId,
      row.type,
      row.connectionId,
      row.connectionSlug,
      row.sessionId,
      row.apiKeyId,
      row.actor,
      row.user,
      row.action,
      JSON.stringify(row.details),
      row.createdAt,
    );
}

/**
 * A direct row written only when `guard` (an SQL `EXISTS` subquery with its bindings) holds when
 * the statement runs — in a D1 batch, after the statement that decides it. Tool integrity
 * (workers/integrity/integrity.record.ts) writes a drift row only if its own version row won the
 * insert, so two gateways that saw the same change write one row between them.
 */
export function directRowStatementIf(
  db: D1Database,
  row: DirectRow & { tool?: string | null },
  guard: { sql: string; binds: unknown[] },
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO audit_events (id, org_id, type, connection_id, connection_slug, session_id, api_key_id, actor, user, tool, action, details, created_at)
       SELECT ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE EXISTS (${guard.sql})`,
    )
    .bind(
      row.id,
      row.orgId,
      row.type,
      row.connectionId,
      row.connectionSlug,
      row.sessionId,
      row.apiKeyId,
      row.actor,
      row.user,
      row.tool ?? null,
      row.action,
      JSON.stringify(row.details),
      row.createdAt,
      ...guard.binds,
    );
}
