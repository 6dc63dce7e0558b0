/**
 * Kill switches: pull one, list them, lift one. Every statement is scoped to `principal.orgId`.
 *
 * How a switch takes effect (never through KV):
 *   1. the record and its audit row are written in one D1 batch (type `session` for a session
 *      switch, `admin` otherwise);
 *   2. it is pushed to every affected ConnectionGuard (organization / user / apiKey scope: every
 *      connection of the organization; connection / session scope: that one) by RPC, and the API
 *      answers only after every guard confirmed — from then on each of those guards refuses
 *      matching calls (503 "Session Suspended") and ends their open SSE streams;
 *   3. a guard that starts later (a connection created afterwards, an eviction, a restart) loads the
 *      active switches of its organization from D1 before deciding anything.
 * If a guard cannot be reached the record still stands (guards re-read D1 every 30 s) and the API
 * answers 503 naming how many did not confirm; repeating the request is safe (an active switch
 * with the same scope and target is returned, not duplicated) and retries the push.
 *
 * Suspending an agent session is a `session`-scope switch (workers/sessions/sessions.service.ts):
 * one mechanism, one record, one place to lift it.
 */
import {
  agentSessionId,
  type ConnectionGuard,
  connectionIdOfSession,
  type KillRecord,
} from '../../durable-objects/connection-guard.do';
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { ownOnly, requirePermission } from '../auth/permissions';
import type { KILL_SCOPES } from '../db/schema';
import type { SessionUpdateEvent } from '../events/events.types';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import type { CreateKillSwitchInput, KillSwitchDto, ListKillSwitchesQuery } from './killswitch.schemas';

export type KillSwitchEnv = Pick<Env, 'DB' | 'GUARD'>;
type Scope = (typeof KILL_SCOPES)[number];

export interface KillSwitchDbRow {
  id: string;
  org_id: string;
  scope: Scope;
  target: string;
  reason: string | null;
  created_by: string | null;
  created_at: number;
  lifted_at: number | null;
  lifted_by: string | null;
}

/** A change to kill switches and the session_update events it causes (the route publishes them). */
export interface KillSwitchChange {
  killSwitch: KillSwitchDto;
  sessionUpdates: SessionUpdateEvent[];
}

/** The connection a switch belongs to, when it has one (connection and session scopes). */
interface TargetConnection {
  id: string;
  slug: string;
  createdBy: string | null;
}

const PUSH_CONCURRENCY = 50;
const SELECT =
  'SELECT id, org_id, scope, target, reason, created_by, created_at, lifted_at, lifted_by FROM kill_switches';

function iso(ms: number | null): string | null {
  return ms === null ? null : new Date(ms).toISOString();
}

export function toKillSwitchDto(row: KillSwitchDbRow): KillSwitchDto {
  return {
    id: row.id,
    scope: row.scope,
    target: row.target,
    reason: row.reason,
    active: row.lifted_at === null,
    createdBy: row.created_by,
    createdAt: iso(row.created_at)!,
    liftedAt: iso(row.lifted_at),
    liftedBy: row.lifted_by,
  };
}

/**
 * A switch on one agent session is a change to that session (type `session`: suspend, resume, or
 * the same through the kill-switch API); switches at any other scope are `admin` changes.
 */
function auditType(scope: Scope): 'session' | 'admin' {
  return scope === 'session' ? 'session' : 'admin';
}

function toRecord(row: KillSwitchDbRow): KillRecord {
  return { id: row.id, scope: row.scope, target: row.target, reason: row.reason, createdAt: row.created_at };
}

function targetNotFound(what: string): AppError {
  return new AppError('not_found', {
    message: `${what} not found`,
    details: { location: 'body', path: 'target' },
  });
}

/** A connection of the organization by id or slug (another organization's is "not found"). */
export async function findConnection(
  db: D1Database,
  orgId: string,
  idOrSlug: string,
): Promise<TargetConnection | null> {
  const row = await db
    .prepare('SELECT id, slug, created_by FROM connections WHERE org_id = ? AND (id = ? OR slug = ?)')
    .bind(orgId, idOrSlug, idOrSlug)
    .first<{ id: string; slug: string; created_by: string | null }>();
  return row ? { id: row.id, slug: row.slug, createdBy: row.created_by } : null;
}

/** The connection behind an agent session id, within the organization. */
export async function findSessionConnection(
  db: D1Database,
  orgId: string,
  sessionId: string,
): Promise<TargetConnection | null> {
  const connectionId = connectionIdOfSession(sessionId);
  if (!connectionId) return null;
  const connection = await findConnection(db, orgId, connectionId);
  return connection && connection.id === connectionId ? connection : null;
}

/** Checks the target exists in the caller's organization and returns its canonical form. */
async function resolveTarget(
  db: D1Database,
  orgId: string,
  scope: Scope,
  target: string,
): Promise<{ target: string; connection: TargetConnection | null }> {
  switch (scope) {
    case 'organization':
      if (target !== orgId) throw targetNotFound('Organization');
      return { target, connection: null };
    case 'connection': {
      const connection = await findConnection(db, orgId, target);
      if (!connection) throw targetNotFound('Connection');
      return { target: connection.id, connection };
    }
    case 'session': {
      const connection = await findSessionConnection(db, orgId, target);
      if (!connection) throw targetNotFound('Session');
      return { target, connection };
    }
    case 'apiKey': {
      const key = await db
        .prepare('SELECT id FROM api_keys WHERE org_id = ? AND id = ?')
        .bind(orgId, target)
        .first<{ id: string }>();
      if (!key) throw targetNotFound('API key');
      return { target, connection: null };
    }
    case 'user':
      return { target, connection: null };
  }
}

export async function createKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  input: CreateKillSwitchInput,
): Promise<KillSwitchChange & { created: boolean }> {
  requirePermission(principal, 'killswitch:write');
  const { target, connection } = await resolveTarget(env.DB, principal.orgId, input.scope, input.target);
  return pullKillSwitch(env, principal, {
    scope: input.scope,
    target,
    reason: input.reason || null,
    connection,
    auditAction: 'killswitch.create',
  });
}

/**
 * Records and pushes a switch (permission and target already checked by the caller). An active
 * switch with the same scope and target is returned as it is, and pushed again.
 */
export async function pullKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  pull: {
    scope: Scope;
    target: string;
    reason: string | null;
    connection: TargetConnection | null;
    auditAction: string;
  },
): Promise<KillSwitchChange & { created: boolean }> {
  const existing = await env.DB.prepare(
    `${SELECT} WHERE org_id = ? AND scope = ? AND target = ? AND lifted_at IS NULL ORDER BY created_at LIMIT 1`,
  )
    .bind(principal.orgId, pull.scope, pull.target)
    .first<KillSwitchDbRow>();
  if (existing) {
    await pushToGuards(env, existing, (guard, target) => guard.applyKill(target, toRecord(existing)));
    return { killSwitch: toKillSwitchDto(existing), sessionUpdates: [], created: false };
  }

  const row: KillSwitchDbRow = {
    id: randomId('ks'),
    org_id: principal.orgId,
    scope: pull.scope,
    target: pull.target,
    reason: pull.reason,
    created_by: principal.actor,
    created_at: Date.now(),
    lifted_at: null,
    lifted_by: null,
  };
  const sessionId = pull.scope === 'session' ? pull.target : null;
  const statements = [
    env.DB.prepare(
      `INSERT INTO kill_switches (id, org_id, scope, target, reason, created_by, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?)`,
    ).bind(row.id, row.org_id, row.scope, row.target, row.reason, row.created_by, row.created_at),
    adminAuditStatement(env.DB, principal, {
      action: pull.auditAction,
      type: auditType(row.scope),
      connectionId: pull.connection?.id ?? null,
      connectionSlug: pull.connection?.slug ?? null,
      sessionId,
      details: { killSwitchId: row.id, scope: row.scope, target: row.target, reason: row.reason },
    }),
  ];
  if (sessionId && pull.connection) {
    // The session's record says it is suspended, and why (its status column follows session switches).
    statements.push(
      env.DB.prepare(
        `INSERT INTO agent_sessions (id, org_id, connection_id, status, suspended_reason, created_at, updated_at)
         VALUES (?1, ?2, ?3, 'suspended', ?4, ?5, ?5)
         ON CONFLICT(id) DO UPDATE SET status = 'suspended', suspended_reason = ?4, updated_at = ?5`,
      ).bind(sessionId, principal.orgId, pull.connection.id, row.reason, row.created_at),
    );
  }
  await env.DB.batch(statements);
  await pushToGuards(env, row, (guard, target) => guard.applyKill(target, toRecord(row)));
  return {
    killSwitch: toKillSwitchDto(row),
    sessionUpdates: await sessionUpdatesFor(env.DB, row),
    created: true,
  };
}

export async function liftKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  id: string,
): Promise<KillSwitchChange> {
  requirePermission(principal, 'killswitch:write');
  const row = await env.DB.prepare(`${SELECT} WHERE org_id = ? AND id = ?`)
    .bind(principal.orgId, id)
    .first<KillSwitchDbRow>();
  if (!row) {
    throw new AppError('not_found', {
      message: 'Kill switch not found',
      details: { location: 'path', path: 'id' },
    });
  }
  const connection =
    row.scope === 'connection'
      ? await findConnection(env.DB, principal.orgId, row.target)
      : row.scope === 'session'
        ? await findSessionConnection(env.DB, principal.orgId, row.target)
        : null;
  const [lifted] = await liftKillSwitches(env, principal, [row], connection, 'killswitch.lift');
  return lifted ?? { killSwitch: toKillSwitchDto(row), sessionUpdates: [] };
}

/**
 * Lifts switches (permission checked by the caller) in one batch with their audit rows; pushes the
 * lift to the guards even for rows already lifted, so a repeated DELETE also repairs a failed push.
 */
export async function liftKillSwitches(
  env: KillSwitchEnv,
  principal: Principal,
  rows: KillSwitchDbRow[],
  connection: TargetConnection | null,
  auditAction: string,
): Promise<KillSwitchChange[]> {
  const now = Date.now();
  const active = rows.filter((r) => r.lifted_at === null);
  const statements: D1PreparedStatement[] = [];
  for (const row of active) {
    const sessionId = row.scope === 'session' ? row.target : null;
    statements.push(
      env.DB.prepare(
        'UPDATE kill_switches SET lifted_at = ?, lifted_by = ? WHERE id = ? AND org_id = ? AND lifted_at IS NULL',
      ).bind(now, principal.actor, row.id, principal.orgId),
      adminAuditStatement(env.DB, principal, {
        action: auditAction,
        type: auditType(row.scope),
        connectionId: connection?.id ?? null,
        connectionSlug: connection?.slug ?? null,
        sessionId,
        details: { killSwitchId: row.id, scope: row.scope, target: row.target },
      }),
    );
    if (sessionId) {
      // Active again once no session switch holds it (after the updates above, in this batch).
      statements.push(
        env.DB.prepare(
          `UPDATE agent_sessions SET status = 'active', suspended_reason = NULL, updated_at = ?1
           WHERE id = ?2 AND org_id = ?3 AND NOT EXISTS (SELECT 1 FROM kill_switches
             WHERE org_id = ?3 AND scope = 'session' AND target = ?2 AND lifted_at IS NULL)`,
        ).bind(now, sessionId, principal.orgId),
      );
    }
  }
  if (statements.length > 0) await env.DB.batch(statements);
  const changes: KillSwitchChange[] = [];
  for (const row of rows) {
    const lifted = row.lifted_at === null ? { ...row, lifted_at: now, lifted_by: principal.actor } : row;
    await pushToGuards(env, row, (guard, target) => guard.liftKill(target, row.id));
    changes.push({
      killSwitch: toKillSwitchDto(lifted),
      sessionUpdates: row.lifted_at === null ? await sessionUpdatesFor(env.DB, row) : [],
    });
  }
  return changes;
}

export async function listKillSwitches(
  env: KillSwitchEnv,
  principal: Principal,
  query: ListKillSwitchesQuery & { id?: string },
): Promise<KillSwitchDto[]> {
  // Reading switches is part of reading sessions (auditors read; developers see what can hold
  // their own connections: organization-wide switches, and switches on their connections).
  const own = ownOnly(principal, 'sessions:read');
  const { results } = await env.DB.prepare(
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
    .bind(
      principal.orgId,
      query.status ?? null,
      query.scope ?? null,
      query.id ?? null,
      own ? (principal.userId ?? '') : null,
    )
    .all<KillSwitchDbRow>();
  return results.map(toKillSwitchDto);
}

export async function getKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  id: string,
): Promise<KillSwitchDto> {
  const [found] = await listKillSwitches(env, principal, { id });
  if (found) return found;
  const exists = await env.DB.prepare('SELECT 1 AS one FROM kill_switches WHERE org_id = ? AND id = ?')
    .bind(principal.orgId, id)
    .first();
  if (exists) {
    // In the organization, on a connection the (developer) caller did not create.
    throw new AppError('forbidden', {
      message: `Missing permission sessions:read for resources created by others (role ${principal.role})`,
      details: { permission: 'sessions:read', role: principal.role, scope: 'own' },
    });
  }
  throw new AppError('not_found', {
    message: 'Kill switch not found',
    details: { location: 'path', path: 'id' },
  });
}

// ---------------------------------------------------------------------------------------------
// Pushing to guards

type GuardStub = DurableObjectStub<ConnectionGuard>;

/** The connections whose guards a switch concerns. */
async function affectedConnections(db: D1Database, row: KillSwitchDbRow): Promise<string[]> {
  if (row.scope === 'connection') return [row.target];
  if (row.scope === 'session') {
    const id = connectionIdOfSession(row.target);
    return id ? [id] : [];
  }
  const { results } = await db
    .prepare('SELECT id FROM connections WHERE org_id = ?')
    .bind(row.org_id)
    .all<{ id: string }>();
  return results.map((r) => r.id);
}

/** Calls `op` on every affected guard (one retry each); throws 503 if any did not confirm. */
async function pushToGuards(
  env: KillSwitchEnv,
  row: KillSwitchDbRow,
  op: (guard: GuardStub, target: { orgId: string; connectionId: string }) => Promise<unknown>,
): Promise<void> {
  const connectionIds = await affectedConnections(env.DB, row);
  const failures: unknown[] = [];
  for (let i = 0; i < connectionIds.length; i += PUSH_CONCURRENCY) {
    const chunk = connectionIds.slice(i, i + PUSH_CONCURRENCY);
    const settled = await Promise.allSettled(
      chunk.map(async (connectionId) => {
        const target = { orgId: row.org_id, connectionId };
        const attempt = () => op(env.GUARD.getByName(`${row.org_id}:${connectionId}`), target);
        await attempt().catch(attempt);
      }),
    );
    for (const s of settled) if (s.status === 'rejected') failures.push(s.reason);
  }
  if (failures.length > 0) {
    log('error', 'kill switch not confirmed by every guard', { killSwitchId: row.id, failures });
    throw new AppError('guard_unavailable', {
      message: `Kill switch ${row.id} is recorded, but ${failures.length} of ${connectionIds.length} connection(s) did not confirm it; they apply it within 30 seconds. Repeat the request to retry.`,
      details: { killSwitchId: row.id, unconfirmed: failures.length, connections: connectionIds.length },
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Session status

export interface SessionHold {
  id: string;
  scope: Scope;
  reason: string | null;
  createdAt: number;
}

/**
 * The switches that refuse every call of each given session (organization, connection or session
 * scope), from the D1 record that the guards are loaded and pushed from. A session is `suspended`
 * while it has any.
 */
export async function sessionHolds(
  db: D1Database,
  orgId: string,
  sessionIds: string[],
): Promise<Map<string, SessionHold[]>> {
  const holds = new Map<string, SessionHold[]>(sessionIds.map((id) => [id, []]));
  if (sessionIds.length === 0) return holds;
  const { results } = await db
    .prepare(
      `SELECT id, scope, target, reason, created_at FROM kill_switches
       WHERE org_id = ? AND lifted_at IS NULL AND scope IN ('organization', 'connection', 'session')
       ORDER BY created_at`,
    )
    .bind(orgId)
    .all<{ id: string; scope: Scope; target: string; reason: string | null; created_at: number }>();
  for (const sessionId of sessionIds) {
    const connectionId = connectionIdOfSession(sessionId);
    for (const k of results) {
      const holdsIt =
        (k.scope === 'organization' && k.target === orgId) ||
        (k.scope === 'connection' && k.target === connectionId) ||
        (k.scope === 'session' && k.target === sessionId);
      if (holdsIt)
        holds.get(sessionId)!.push({ id: k.id, scope: k.scope, reason: k.reason, createdAt: k.created_at });
    }
  }
  return holds;
}

/** session_update events for the sessions a switch holds as a whole, with their status now. */
async function sessionUpdatesFor(db: D1Database, row: KillSwitchDbRow): Promise<SessionUpdateEvent[]> {
  let sessions: Array<{ sessionId: string; connectionId: string }>;
  if (row.scope === 'session') {
    sessions = [{ sessionId: row.target, connectionId: connectionIdOfSession(row.target) ?? '' }];
  } else if (row.scope === 'connection') {
    sessions = [{ sessionId: agentSessionId(row.target), connectionId: row.target }];
  } else if (row.scope === 'organization') {
    const { results } = await db
      .prepare('SELECT id, connection_id FROM agent_sessions WHERE org_id = ?')
      .bind(row.org_id)
      .all<{ id: string; connection_id: string }>();
    sessions = results.map((r) => ({ sessionId: r.id, connectionId: r.connection_id }));
  } else {
    return []; // user / apiKey switches hold some callers, not whole sessions
  }
  const holds = await sessionHolds(
    db,
    row.org_id,
    sessions.map((s) => s.sessionId),
  );
  const timestamp = new Date().toISOString();
  return sessions.map((s) => ({
    type: 'session_update',
    sessionId: s.sessionId,
    serverId: s.connectionId,
    status: (holds.get(s.sessionId)?.length ?? 0) > 0 ? 'suspended' : 'active',
    timestamp,
  }));
}

/** Publishes session_update events to the organization's hub, best-effort and off the reply. */
export function publishSessionUpdates(
  env: Pick<Env, 'EVENT_HUB'>,
  ctx: Pick<ExecutionContext, 'waitUntil'>,
  orgId: string,
  events: SessionUpdateEvent[],
): void {
  if (events.length === 0) return;
  ctx.waitUntil(
    env.EVENT_HUB.getByName(orgId)
      .publish(events)
      .then(() => undefined)
      .catch((err: unknown) => log('warn', 'session_update publish failed', { err })),
  );
}
