/**
 * Agent sessions: one per organization and connection (id `agentSessionId(connectionId)`), active
 * or suspended. Every statement is scoped to `principal.orgId`; another organization's session is
 * "not found".
 *
 * Where each field comes from:
 *   - the D1 `agent_sessions` row (upserted by the connection's guard from its alarm): call count,
 *     last seen, last MCP session id / API key / user;
 *   - for one session (GET /sessions/:id) the guard's live state as well, which may be ahead of D1
 *     by the last second or so of calls;
 *   - status: the kill switches in D1 — the record the guards are loaded and pushed from. A
 *     session is `suspended` while an organization, connection or session switch holds it.
 *
 * Suspending is pulling a `session` kill switch; resuming lifts the session switches of that
 * session (see workers/killswitch/killswitch.service.ts). A session also held by a connection or
 * organization switch stays suspended after resume, and says so (`heldBy`). Repeating a suspend
 * or resume that changes nothing writes nothing. Their audit rows have type `session` (actions
 * `session.suspend` / `session.resume`), written in the switch's own batch.
 */
import { guardFor } from '../../durable-objects/do.client';
import type { Principal } from '../app.types';
import { ownOnly, requireOnResource, requirePermission } from '../auth/permissions';
import { type SessionHold, sessionHolds } from '../killswitch/killswitch.holds';
import type { KillSwitchEnv } from '../killswitch/killswitch.push';
import { findSessionConnection, liftKillSwitches, pullKillSwitch } from '../killswitch/killswitch.service';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { iso } from '../lib/values';
import type { SessionUpdateEvent } from '../shared/events.types';
import { activeKillSwitchesOn } from '../shared/killswitch.store';
import type { ListSessionsQuery, SessionDto } from './sessions.schemas';

interface SessionDbRow {
  id: string;
  connection_id: string;
  slug: string;
  mcp_session_id: string | null;
  api_key_id: string | null;
  user: string | null;
  call_count: number;
  last_seen_at: number | null;
  created_at: number | null;
  updated_at: number | null;
}

function toDto(row: SessionDbRow, holds: SessionHold[]): SessionDto {
  return {
    id: row.id,
    connectionId: row.connection_id,
    connectionSlug: row.slug,
    status: holds.length > 0 ? 'suspended' : 'active',
    suspendedReason: holds[0]?.reason ?? null,
    heldBy: holds.map((h) => ({
      killSwitchId: h.id,
      scope: h.scope,
      reason: h.reason,
      createdAt: iso(h.createdAt)!,
    })),
    mcpSessionId: row.mcp_session_id,
    apiKeyId: row.api_key_id,
    user: row.user,
    callCount: row.call_count,
    lastSeenAt: iso(row.last_seen_at),
    createdAt: iso(row.created_at),
    updatedAt: iso(row.updated_at),
  };
}

const SELECT = `SELECT s.id, s.connection_id, c.slug, s.mcp_session_id, s.api_key_id, s.user, s.call_count,
  s.last_seen_at, s.created_at, s.updated_at
  FROM agent_sessions s JOIN connections c ON c.id = s.connection_id AND c.org_id = s.org_id`;

export async function listSessions(
  env: KillSwitchEnv,
  principal: Principal,
  query: ListSessionsQuery,
): Promise<SessionDto[]> {
  const own = ownOnly(principal, 'sessions:read');
  const { results } = await env.DB.prepare(
    `${SELECT} WHERE s.org_id = ?1 AND (?2 IS NULL OR c.id = ?2 OR c.slug = ?2) AND (?3 IS NULL OR c.created_by = ?3)
     ORDER BY coalesce(s.last_seen_at, s.created_at) DESC LIMIT 1000`,
  )
    .bind(principal.orgId, query.connection ?? null, own ? (principal.userId ?? '') : null)
    .all<SessionDbRow>();
  const holds = await sessionHolds(
    env.DB,
    principal.orgId,
    results.map((r) => r.id),
  );
  return results
    .map((row) => toDto(row, holds.get(row.id) ?? []))
    .filter((dto) => !query.status || dto.status === query.status);
}

/** The session's connection, if the principal may act on it with `permission` (404 / 403 otherwise). */
async function sessionConnection(
  env: KillSwitchEnv,
  principal: Principal,
  sessionId: string,
  permission: 'sessions:read' | 'sessions:write',
) {
  requirePermission(principal, permission);
  const connection = await findSessionConnection(env.DB, principal.orgId, sessionId);
  if (!connection) {
    throw new AppError('not_found', {
      message: 'Session not found',
      details: { location: 'path', path: 'id' },
    });
  }
  requireOnResource(principal, permission, connection.createdBy);
  return connection;
}

export async function getSession(
  env: KillSwitchEnv,
  principal: Principal,
  sessionId: string,
): Promise<SessionDto> {
  const connection = await sessionConnection(env, principal, sessionId, 'sessions:read');
  const row = (await env.DB.prepare(`${SELECT} WHERE s.org_id = ? AND s.id = ?`)
    .bind(principal.orgId, sessionId)
    .first<SessionDbRow>()) ?? {
    // A connection whose session has not been seen yet: the session exists (its id is fixed), idle.
    id: sessionId,
    connection_id: connection.id,
    slug: connection.slug,
    mcp_session_id: null,
    api_key_id: null,
    user: null,
    call_count: 0,
    last_seen_at: null,
    created_at: null,
    updated_at: null,
  };
  const live = await liveSession(env, principal.orgId, connection.id);
  if (live && live.callCount >= row.call_count) {
    row.call_count = live.callCount;
    row.last_seen_at = Math.max(live.lastSeenAt, row.last_seen_at ?? 0);
    row.mcp_session_id = live.mcpSessionId ?? row.mcp_session_id;
    row.api_key_id = live.apiKeyId ?? row.api_key_id;
    row.user = live.user ?? row.user;
  }
  const holds = await sessionHolds(env.DB, principal.orgId, [sessionId]);
  return toDto(row, holds.get(sessionId) ?? []);
}

/** The guard's live counters; the D1 row is enough if the guard can't be asked right now. */
async function liveSession(env: KillSwitchEnv, orgId: string, connectionId: string) {
  try {
    const snapshot = await guardFor(env, orgId, connectionId).sessionSnapshot({
      orgId,
      connectionId,
    });
    return snapshot.session;
  } catch (err) {
    log('warn', 'live session state unavailable; answering from D1', { connectionId, err });
    return null;
  }
}

export interface SessionChange {
  session: SessionDto;
  sessionUpdates: SessionUpdateEvent[];
}

export async function suspendSession(
  env: KillSwitchEnv,
  principal: Principal,
  sessionId: string,
  reason: string | null,
): Promise<SessionChange> {
  const connection = await sessionConnection(env, principal, sessionId, 'sessions:write');
  const { sessionUpdates } = await pullKillSwitch(env, principal, {
    scope: 'session',
    target: sessionId,
    reason,
    connection,
    auditAction: 'session.suspend',
    where: { location: 'path', path: 'id' },
  });
  return { session: await getSession(env, principal, sessionId), sessionUpdates };
}

export async function resumeSession(
  env: KillSwitchEnv,
  principal: Principal,
  sessionId: string,
): Promise<SessionChange> {
  const connection = await sessionConnection(env, principal, sessionId, 'sessions:write');
  const active = await activeKillSwitchesOn(env.DB, principal.orgId, 'session', sessionId);
  const changes = await liftKillSwitches(env, principal, active, connection, 'session.resume');
  // One event per session: the last one carries the status after every lift.
  const sessionUpdates = changes.flatMap((c) => c.sessionUpdates).slice(-1);
  return { session: await getSession(env, principal, sessionId), sessionUpdates };
}
