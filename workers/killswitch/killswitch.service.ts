/**
 * Kill switches: pull one, list them, lift one. Every statement is scoped to `principal.orgId`;
 * the SQL on `kill_switches` is workers/shared/killswitch.store.ts.
 *
 * How a switch takes effect (never through KV):
 *   1. the record and its audit row are written in one D1 batch (type `session` for a session
 *      switch, `admin` otherwise), before any push — for any switch but an organization-wide one,
 *      counted against its limit, so a refused one reaches no guard (killswitch.record.ts);
 *   2. once it is committed, it is pushed by RPC to the affected ConnectionGuards that decide from
 *      memory — those holding a lease (killswitch.push.ts) — and the API answers only after every
 *      one confirmed; from then on each of those guards refuses matching calls (503 "Session
 *      Suspended") and ends their open SSE streams;
 *   3. a guard not pushed to (not in memory, or idle past its lease) reads the active switches of its
 *      organization from D1 before it decides anything, after the commit.
 * If a guard cannot be reached the record still stands (guards re-read D1 every 30 s) and the API
 * answers 503 naming how many did not confirm; repeating the request is safe (an active switch
 * with the same scope and target is returned, not duplicated) and retries the push.
 *
 * Suspending an agent session is a `session`-scope switch (workers/sessions/sessions.service.ts):
 * one mechanism, one record, one place to lift it.
 */

import { connectionIdOfSession } from '../../durable-objects/guard.contract';
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { ownOnly, requirePermission } from '../auth/permissions';
import { announceConfigChange } from '../config/config.epoch';
import { closeStreamsFor } from '../events/events.revoke';
import { AppError, type ErrorLocation } from '../lib/errors';
import { randomId } from '../lib/ids';
import { iso } from '../lib/values';
import type { SessionUpdateEvent } from '../shared/events.types';
import {
  activeKillSwitchesOn,
  activeKillSwitchesOnTarget,
  asActiveKillSwitch,
  type KillSwitchDbRow,
  killSwitchById,
  killSwitchExists,
  liftKillSwitchStatement,
  listKillSwitchRows,
  reactivateSessionStatement,
  type KillSwitchScope as Scope,
} from '../shared/killswitch.store';
import { sessionUpdatesFor, sessionUpdatesForPull } from './killswitch.holds';
import { checkLiftAllowed, checkPersonTarget } from './killswitch.principal';
import { type KillSwitchEnv, pushToGuards } from './killswitch.push';
import { writeSwitchRecord } from './killswitch.record';
import type { CreateKillSwitchInput, KillSwitchDto, ListKillSwitchesQuery } from './killswitch.schemas';

export type { KillSwitchDbRow } from '../shared/killswitch.store';
export type { KillSwitchEnv } from './killswitch.push';

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
  // One round trip for both: whether the target exists, and whether a switch already holds it
  // (looked up by the target as written; kept only if it names the resolved target).
  const [{ target, connection }, onTarget] = await Promise.all([
    resolveTarget(env.DB, principal.orgId, input.scope, input.target),
    activeKillSwitchesOnTarget(env.DB, principal.orgId, input.scope, input.target),
  ]);
  await checkPersonTarget(env.DB, principal, input.scope, target);
  return pullKillSwitch(env, principal, {
    scope: input.scope,
    target,
    reason: input.reason || null,
    connection,
    auditAction: 'killswitch.create',
    existing: onTarget.find((row) => row.target === target) ?? null,
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
    /** The active switch on this scope and target, when the caller already looked (null: none). */
    existing?: KillSwitchDbRow | null;
    /** Where a refusal at the count limit points (default: the body's target). */
    where?: ErrorLocation;
  },
): Promise<KillSwitchChange & { created: boolean }> {
  const existing =
    pull.existing !== undefined
      ? pull.existing
      : (await activeKillSwitchesOn(env.DB, principal.orgId, pull.scope, pull.target))[0];
  if (existing) {
    await Promise.all([
      pushToGuards(env, existing, (guard, target) => guard.applyKill(target, asActiveKillSwitch(existing))),
      forgetKilledPerson(env, existing),
    ]);
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
  const record = {
    row,
    audit: {
      action: pull.auditAction,
      type: auditType(row.scope),
      connectionId: pull.connection?.id ?? null,
      connectionSlug: pull.connection?.slug ?? null,
      sessionId,
      details: { killSwitchId: row.id, scope: row.scope, target: row.target, reason: row.reason },
    },
    sessionConnectionId: sessionId ? (pull.connection?.id ?? null) : null,
    where: pull.where ?? { location: 'body' as const, path: 'target' },
  };
  // Recorded before any guard hears of it, at every scope: a bounded switch is counted in its INSERT,
  // so a refused one is pushed nowhere (killswitch.record.ts); and the push goes only to the guards
  // holding a lease, listed after this commit, so that a guard left out is one that reads the record
  // before it decides (killswitch.push.ts). Then the push, the streams and the events in parallel.
  await writeSwitchRecord(env.DB, principal, record);
  const [, sessionUpdates] = await Promise.all([
    forgetKilledPerson(env, row),
    sessionUpdatesForPull(env.DB, row),
    pushToGuards(env, row, (guard, target) => guard.applyKill(target, asActiveKillSwitch(row))),
    closeKilledStreams(env, row),
  ]);
  return { killSwitch: toKillSwitchDto(row), sessionUpdates, created: true };
}

/**
 * A `user` switch also holds that person's OAuth tokens. The guard matches a switch against the
 * call's user (for an OAuth call, the person's email); a switch naming the person's user id is
 * matched where the token is resolved, and gateways keep resolved tokens in memory
 * (oauth/oauth.cache.ts). So a `user` switch is announced as a configuration change once its
 * record is committed, and the next call resolves the token again and meets it.
 */
async function forgetKilledPerson(env: KillSwitchEnv, row: KillSwitchDbRow): Promise<void> {
  if (row.scope !== 'user') return;
  await announceConfigChange(env, row.org_id);
}

/**
 * A key or person under a switch may read nothing either: their open live event streams end now
 * (the hubs' periodic re-check would end them within seconds anyway: workers/shared/events.access.ts).
 */
async function closeKilledStreams(env: KillSwitchEnv, row: KillSwitchDbRow): Promise<void> {
  if (row.scope === 'apiKey') return closeStreamsFor(env, [row.org_id], { apiKeyId: row.target });
  if (row.scope !== 'user') return;
  const member = await env.DB.prepare(
    `SELECT m.user_id FROM members m JOIN users u ON u.id = m.user_id
     WHERE m.org_id = ? AND (lower(u.id) = lower(?2) OR lower(u.email) = lower(?2))`,
  )
    .bind(row.org_id, row.target)
    .first<{ user_id: string }>()
    .catch(() => null);
  if (member) await closeStreamsFor(env, [row.org_id], { userId: member.user_id });
}

export async function liftKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  id: string,
): Promise<KillSwitchChange> {
  requirePermission(principal, 'killswitch:write');
  const row = await killSwitchById(env.DB, principal.orgId, id);
  if (!row) {
    throw new AppError('not_found', {
      message: 'Kill switch not found',
      details: { location: 'path', path: 'id' },
    });
  }
  if (row.lifted_at === null) await checkLiftAllowed(env.DB, principal, row);
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
      liftKillSwitchStatement(env.DB, principal.orgId, row.id, now, principal.actor),
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
      statements.push(reactivateSessionStatement(env.DB, principal.orgId, sessionId, now));
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
  const rows = await listKillSwitchRows(env.DB, principal.orgId, {
    status: query.status ?? null,
    scope: query.scope ?? null,
    id: query.id ?? null,
    connectionsOf: own ? (principal.userId ?? '') : null,
  });
  return rows.map(toKillSwitchDto);
}

export async function getKillSwitch(
  env: KillSwitchEnv,
  principal: Principal,
  id: string,
): Promise<KillSwitchDto> {
  const [found] = await listKillSwitches(env, principal, { id });
  if (found) return found;
  if (await killSwitchExists(env.DB, principal.orgId, id)) {
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
