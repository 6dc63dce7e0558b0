/**
 * Which switches hold an agent session as a whole, read from the D1 record the guards are loaded
 * and pushed from, and matched with the guards' own rule (durable-objects/kill.match.ts,
 * `holdsWholeSession`: an organization, connection or session switch). A session is `suspended`
 * while it has any.
 */
import { agentSessionId, connectionIdOfSession } from '../../durable-objects/guard.contract';
import { holdsWholeSession } from '../../durable-objects/kill.match';
import type { SessionUpdateEvent } from '../shared/events.types';
import { activeKillSwitches, type KillSwitchDbRow, type KillSwitchScope } from '../shared/killswitch.store';

export interface SessionHold {
  id: string;
  scope: KillSwitchScope;
  reason: string | null;
  createdAt: number;
}

/** The switches that refuse every call of each given session, oldest first. */
export async function sessionHolds(
  db: D1Database,
  orgId: string,
  sessionIds: string[],
): Promise<Map<string, SessionHold[]>> {
  const holds = new Map<string, SessionHold[]>(sessionIds.map((id) => [id, []]));
  if (sessionIds.length === 0) return holds;
  const active = await activeKillSwitches(db, orgId);
  for (const sessionId of sessionIds) {
    // A session id that names no connection is held by organization switches only ('' is no target).
    const guard = { orgId, connectionId: connectionIdOfSession(sessionId) ?? '', sessionId };
    for (const k of active) {
      if (holdsWholeSession(k, guard)) {
        holds.get(sessionId)!.push({ id: k.id, scope: k.scope, reason: k.reason, createdAt: k.createdAt });
      }
    }
  }
  return holds;
}

/**
 * session_update events for a switch just pulled: every session it holds as a whole is suspended
 * now, whatever else holds it, so no other switch needs reading — only an organization switch
 * reads which sessions the organization has (a read that needs nothing from the pull's own
 * writes, so the API runs it beside them).
 */
export async function sessionUpdatesForPull(
  db: D1Database,
  row: KillSwitchDbRow,
): Promise<SessionUpdateEvent[]> {
  let sessions: Array<{ sessionId: string; connectionId: string }>;
  if (row.scope === 'session') {
    sessions = [{ sessionId: row.target, connectionId: connectionIdOfSession(row.target) ?? '' }];
  } else if (row.scope === 'connection') {
    sessions = [{ sessionId: agentSessionId(row.target), connectionId: row.target }];
  } else if (row.scope === 'organization') {
    sessions = await organizationSessions(db, row.org_id);
  } else {
    return []; // user / apiKey switches hold some callers, not whole sessions
  }
  const timestamp = new Date().toISOString();
  return sessions.map((s) => ({
    type: 'session_update',
    sessionId: s.sessionId,
    serverId: s.connectionId,
    status: 'suspended',
    timestamp,
  }));
}

async function organizationSessions(
  db: D1Database,
  orgId: string,
): Promise<Array<{ sessionId: string; connectionId: string }>> {
  const { results } = await db
    .prepare('SELECT id, connection_id FROM agent_sessions WHERE org_id = ?')
    .bind(orgId)
    .all<{ id: string; connection_id: string }>();
  return results.map((r) => ({ sessionId: r.id, connectionId: r.connection_id }));
}

/** session_update events for the sessions a switch holds as a whole, with their status now. */
export async function sessionUpdatesFor(db: D1Database, row: KillSwitchDbRow): Promise<SessionUpdateEvent[]> {
  let sessions: Array<{ sessionId: string; connectionId: string }>;
  if (row.scope === 'session') {
    sessions = [{ sessionId: row.target, connectionId: connectionIdOfSession(row.target) ?? '' }];
  } else if (row.scope === 'connection') {
    sessions = [{ sessionId: agentSessionId(row.target), connectionId: row.target }];
  } else if (row.scope === 'organization') {
    sessions = await organizationSessions(db, row.org_id);
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
