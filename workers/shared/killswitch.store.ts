/**
 * The `kill_switches` table: every statement on it, and nowhere else (docs/storage-schema.md).
 *
 * Used by the kill-switch and session API (workers/killswitch/, workers/sessions/), by the check
 * that refuses a killed caller of the management API (killswitch.principal.ts) and by the
 * ConnectionGuard when it loads the active switches of its organization. It lives in the leaf
 * layer so the guard may import it. Which switch holds which call is not decided here: that is
 * the pure `durable-objects/kill.match.ts`, applied by the callers to what this module reads.
 *
 * Every statement is scoped to one organization. Functions that a caller batches with other
 * statements return a prepared statement; the others run it and return rows.
 */
import type { KILL_SCOPES } from '../db/schema';
import { type CountLimit, insertBelowCap, rowExists } from './count.limits';

export type KillSwitchScope = (typeof KILL_SCOPES)[number];

/** A kill_switches row as D1 returns it. */
export interface KillSwitchDbRow {
  id: string;
  org_id: string;
  scope: KillSwitchScope;
  target: string;
  reason: string | null;
  created_by: string | null;
  created_at: number;
  lifted_at: number | null;
  lifted_by: string | null;
}

/** An active switch in the shape the guards hold it (`KillRecord` of durable-objects/kill.match.ts). */
export interface ActiveKillSwitch {
  id: string;
  scope: KillSwitchScope;
  target: string;
  reason: string | null;
  createdAt: number;
}

/** A row in the shape the guards hold it (what the API pushes to them). */
export function asActiveKillSwitch(row: KillSwitchDbRow): ActiveKillSwitch {
  return { id: row.id, scope: row.scope, target: row.target, reason: row.reason, createdAt: row.created_at };
}

const COLUMNS = 'id, org_id, scope, target, reason, created_by, created_at, lifted_at, lifted_by';

/**
 * The active switches of an organization, oldest first, as a statement (the guard batches it with
 * its connection's settings). Callers keep those that concern them with kill.match.
 */
export function activeKillSwitchesStatement(db: D1Database, orgId: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT id, scope, target, reason, created_at AS createdAt FROM kill_switches
       WHERE org_id = ? AND lifted_at IS NULL ORDER BY created_at`,
    )
    .bind(orgId);
}

/**
 * Which of these switches of the organization are lifted (a guard holding pushed switches asks with
 * its state read: a lift is not pushed to a guard whose lease lapsed; durable-objects/kill.held.ts).
 * The ids go as one JSON array, so their number is not bounded by the statement's parameters.
 */
export function liftedKillSwitchesStatement(
  db: D1Database,
  orgId: string,
  ids: readonly string[],
): D1PreparedStatement {
  return db
    .prepare(
      `SELECT id FROM kill_switches
       WHERE org_id = ? AND lifted_at IS NOT NULL AND id IN (SELECT value FROM json_each(?))`,
    )
    .bind(orgId, JSON.stringify(ids));
}

export async function activeKillSwitches(db: D1Database, orgId: string): Promise<ActiveKillSwitch[]> {
  const { results } = await activeKillSwitchesStatement(db, orgId).all<ActiveKillSwitch>();
  return results;
}

/** The active switches with this scope and target, oldest first (normally one). */
export async function activeKillSwitchesOn(
  db: D1Database,
  orgId: string,
  scope: KillSwitchScope,
  target: string,
): Promise<KillSwitchDbRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM kill_switches
       WHERE org_id = ? AND scope = ? AND target = ? AND lifted_at IS NULL ORDER BY created_at`,
    )
    .bind(orgId, scope, target)
    .all<KillSwitchDbRow>();
  return results;
}

/**
 * activeKillSwitchesOn for a target as the caller wrote it, before it is resolved: a `connection`
 * target may be the connection's slug. Lets the API look for an active switch in the same round
 * trip as it checks the target exists (killswitch.service.ts).
 */
export async function activeKillSwitchesOnTarget(
  db: D1Database,
  orgId: string,
  scope: KillSwitchScope,
  idOrSlug: string,
): Promise<KillSwitchDbRow[]> {
  const { results } = await db
    .prepare(
      `SELECT ${COLUMNS} FROM kill_switches
       WHERE org_id = ?1 AND scope = ?2 AND lifted_at IS NULL
         AND (target = ?3 OR (?2 = 'connection' AND target IN (SELECT id FROM connections WHERE org_id = ?1 AND slug = ?3)))
       ORDER BY created_at`,
    )
    .bind(orgId, scope, idOrSlug)
    .all<KillSwitchDbRow>();
  return results;
}

export function killSwitchById(db: D1Database, orgId: string, id: string): Promise<KillSwitchDbRow | null> {
  return db
    .prepare(`SELECT ${COLUMNS} FROM kill_switches WHERE org_id = ? AND id = ?`)
    .bind(orgId, id)
    .first<KillSwitchDbRow>();
}

export interface KillSwitchFilter {
  status: 'active' | 'lifted' | null;
  scope: KillSwitchScope | null;
  id: string | null;
  /**
   * Only switches that can hold this user's own connections (organization-wide switches, and
   * switches on connections they created, or on those connections' sessions); null for all.
   */
  connectionsOf: string | null;
}

/** The organization's switches, newest first (at most 1,000). */
export async function listKillSwitchRows(
  db: D1Database,
  orgId: string,
  filter: KillSwitchFilter,
): Promise<KillSwitchDbRow[]> {
  const { results } = await db
    .prepare(
      `SELECT k.id, k.org_id, k.scope, k.target, k.reason, k.created_by, k.created_at, k.lifted_at, k.lifted_by
       FROM kill_switches k
       WHERE k.org_id = ?1
         AND (?2 IS NULL OR (?2 = 'active' AND k.lifted_at IS NULL) OR (?2 = 'lifted' AND k.lifted_at IS NOT NULL))
         AND (?3 IS NULL OR k.scope = ?3)
         AND (?4 IS NULL OR k.id = ?4)
         AND (?5 IS NULL OR k.scope IN ('organization', 'user', 'apiKey') OR EXISTS (SELECT 1 FROM connections c
           WHERE c.org_id = k.org_id AND c.created_by = ?5 AND ((k.scope = 'connection' AND c.id = k.target)
             OR (k.scope = 'session' AND 'ses_' || substr(c.id, 5) = k.target))))
       ORDER BY k.created_at DESC LIMIT 1000`,
    )
    .bind(orgId, filter.status, filter.scope, filter.id, filter.connectionsOf)
    .all<KillSwitchDbRow>();
  return results;
}

export async function killSwitchExists(db: D1Database, orgId: string, id: string): Promise<boolean> {
  const row = await db
    .prepare('SELECT 1 AS one FROM kill_switches WHERE org_id = ? AND id = ?')
    .bind(orgId, id)
    .first();
  return row !== null;
}

/**
 * killSwitchOnPrincipal for the principal an API key yields (its organization, the key, the user who
 * created it), found by the key's hash: it needs no result of the key lookup, so the API runs both
 * at once (workers/api/api.auth.ts).
 */
export function killSwitchOnKeyHash(
  db: D1Database,
  keyHash: string,
): Promise<{ id: string; scope: 'apiKey' | 'user' } | null> {
  return db
    .prepare(
      `SELECT k.id, k.scope FROM api_keys a JOIN kill_switches k ON k.org_id = a.org_id
       WHERE a.hash = ?1 AND k.lifted_at IS NULL AND (
         (k.scope = 'apiKey' AND k.target = a.id) OR
         (k.scope = 'user' AND a.created_by IS NOT NULL AND (lower(k.target) = lower(a.created_by)
           OR lower(k.target) = (SELECT lower(email) FROM users WHERE id = a.created_by))))
       ORDER BY k.created_at LIMIT 1`,
    )
    .bind(keyHash)
    .first<{ id: string; scope: 'apiKey' | 'user' }>();
}

/**
 * The oldest active switch that holds a caller of the management API: `apiKey` on its key, or
 * `user` naming its user — by user id or email, case-insensitively, which is how agents usually
 * name people in X-Igris-User (the gateway's own matching, kill.match, compares the header as sent).
 */
export function killSwitchOnPrincipal(
  db: D1Database,
  orgId: string,
  apiKeyId: string | null,
  userId: string | null,
): Promise<{ id: string; scope: 'apiKey' | 'user' } | null> {
  return db
    .prepare(
      `SELECT k.id, k.scope FROM kill_switches k
       WHERE k.org_id = ?1 AND k.lifted_at IS NULL AND (
         (k.scope = 'apiKey' AND k.target = ?2) OR
         (k.scope = 'user' AND ?3 IS NOT NULL AND (lower(k.target) = lower(?3)
           OR lower(k.target) = (SELECT lower(email) FROM users WHERE id = ?3))))
       ORDER BY k.created_at LIMIT 1`,
    )
    .bind(orgId, apiKeyId, userId)
    .first<{ id: string; scope: 'apiKey' | 'user' }>();
}

/**
 * The active switches of an organization that hold callers rather than connections (`apiKey`, and
 * `user` — its target lower-cased, matched against a member's id or email like
 * killSwitchOnPrincipal). One statement for a whole set of live event subscribers.
 */
export function callerKillSwitchesStatement(db: D1Database, orgId: string): D1PreparedStatement {
  return db
    .prepare(
      `SELECT scope, lower(target) AS target FROM kill_switches
       WHERE org_id = ? AND lifted_at IS NULL AND scope IN ('apiKey', 'user')`,
    )
    .bind(orgId);
}

/**
 * An SQL boolean: does an active `user` switch of organization `org` name the member with id
 * `userId` or email `email` (case-insensitively)? The arguments are SQL expressions (parameters or
 * columns), for a caller that folds the check into a query of its own (the OAuth token path).
 */
export function userKilledSql(org: string, userId: string, email: string): string {
  return `EXISTS (SELECT 1 FROM kill_switches k WHERE k.org_id = ${org} AND k.lifted_at IS NULL AND k.scope = 'user'
    AND (lower(k.target) = lower(${userId}) OR lower(k.target) = lower(${email})))`;
}

export function insertKillSwitchStatement(db: D1Database, row: KillSwitchDbRow): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    )
    .bind(row.id, row.org_id, row.scope, row.target, row.reason, row.created_by, row.created_at);
}

/**
 * The same INSERT, taken only while fewer than `limit.cap` switches count for the organization
 * (workers/shared/count.limits.ts): none written at the cap (`meta.changes` 0).
 */
export function insertKillSwitchBelowCapStatement(
  db: D1Database,
  row: KillSwitchDbRow,
  limit: CountLimit,
): D1PreparedStatement {
  return insertBelowCap(
    db,
    limit,
    [row.org_id],
    'INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at)',
    [row.id, row.org_id, row.scope, row.target, row.reason, row.created_by, row.created_at],
  );
}

/** An `EXISTS` guard (count.limits.ts rowExists): true once the switch's row was written. */
export function killSwitchWritten(id: string): { sql: string; binds: unknown[] } {
  return rowExists('kill_switches', id);
}

/**
 * A session switch's session marked suspended (its status column follows session switches) —
 * only if the switch's row was written (a switch refused at its cap suspends nothing).
 */
export function suspendSessionIfSwitchStatement(
  db: D1Database,
  row: KillSwitchDbRow,
  sessionConnectionId: string,
): D1PreparedStatement {
  return db
    .prepare(
      `INSERT INTO agent_sessions (id, org_id, connection_id, status, suspended_reason, created_at, updated_at)
       SELECT ?1, ?2, ?3, 'suspended', ?4, ?5, ?5 WHERE EXISTS (SELECT 1 FROM kill_switches WHERE id = ?6)
       ON CONFLICT(id) DO UPDATE SET status = 'suspended', suspended_reason = ?4, updated_at = ?5`,
    )
    .bind(row.target, row.org_id, sessionConnectionId, row.reason, row.created_at, row.id);
}

/** Lifts a switch that is still active (a repeated lift changes nothing). */
export function liftKillSwitchStatement(
  db: D1Database,
  orgId: string,
  id: string,
  liftedAt: number,
  liftedBy: string,
): D1PreparedStatement {
  return db
    .prepare(
      'UPDATE kill_switches SET lifted_at = ?, lifted_by = ? WHERE id = ? AND org_id = ? AND lifted_at IS NULL',
    )
    .bind(liftedAt, liftedBy, id, orgId);
}

/**
 * An agent session's status column follows its session switches. Active again once no session
 * switch holds it: run after the lifts in the same batch, so it sees them.
 */
export function reactivateSessionStatement(
  db: D1Database,
  orgId: string,
  sessionId: string,
  now: number,
): D1PreparedStatement {
  return db
    .prepare(
      `UPDATE agent_sessions SET status = 'active', suspended_reason = NULL, updated_at = ?1
       WHERE id = ?2 AND org_id = ?3 AND NOT EXISTS (SELECT 1 FROM kill_switches
         WHERE org_id = ?3 AND scope = 'session' AND target = ?2 AND lifted_at IS NULL)`,
    )
    .bind(now, sessionId, orgId);
}
