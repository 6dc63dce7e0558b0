/**
 * What pulling a switch writes in D1 (the switch, its audit row, the session's status), and the
 * bound on how many may be active (workers/shared/count.limits.ts, docs/permissions.md#how-many-of-each).
 *
 * Why a bound: every guard of an organization loads all its active switches when it starts and
 * matches every call against those that concern it (durable-objects/kill.match.ts, a linear scan;
 * bench/kill.match.bench.ts) — apiKey and user switches concern every guard. With no bound a
 * compromised admin key, or a script in a loop, makes every guard's start and every call slower
 * for the whole organization.
 *
 * What is bounded: active connection, API-key and person switches (together), and active session
 * suspends (apart, so filling one does not stop the other). An organization-wide switch — the
 * emergency stop, the control of last resort — is never counted and never refused: it is one
 * record per organization (a repeat returns the active one), so it cannot grow anything.
 *
 * Order: every switch is written first (a bounded one counted inside its INSERT) and pushed to the
 * guards only once the write took, so a refused switch is pushed to no guard and writes nothing (not
 * even its audit row). The organization-wide switch too, though nothing can refuse it: the push goes
 * only to the guards holding a lease, listed after the commit, and a guard left out must find the
 * record when it re-reads (killswitch.push.ts).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import type { ErrorLocation } from '../lib/errors';
import { COUNT_LIMITS, type CountLimit, requireInserted } from '../shared/count.limits';
import {
  insertKillSwitchBelowCapStatement,
  insertKillSwitchStatement,
  type KillSwitchDbRow,
  type KillSwitchScope,
  killSwitchWritten,
  suspendSessionIfSwitchStatement,
} from '../shared/killswitch.store';

/** The count limit a new switch of this scope takes a place in; null: never refused. */
export function killSwitchLimit(scope: KillSwitchScope): CountLimit | null {
  if (scope === 'organization') return null;
  return scope === 'session' ? COUNT_LIMITS.sessionSuspends : COUNT_LIMITS.killSwitches;
}

export interface SwitchRecord {
  row: KillSwitchDbRow;
  audit: Parameters<typeof adminAuditStatement>[2];
  /** The session's connection, for a session switch (its agent_sessions row says suspended). */
  sessionConnectionId: string | null;
  /** Where a refusal points (the kill-switch API's body target; the sessions API's path id). */
  where: ErrorLocation;
}

/**
 * The batch that records a switch: its row, its audit row and, for a session switch, the session's
 * status. For a bounded scope the row is inserted only below the cap, and the rest only if it was.
 */
export function recordSwitchStatements(
  db: D1Database,
  principal: Principal,
  record: SwitchRecord,
): { statements: D1PreparedStatement[]; limit: CountLimit | null } {
  const { row } = record;
  const limit = killSwitchLimit(row.scope);
  const created = killSwitchWritten(row.id);
  const statements = [
    limit ? insertKillSwitchBelowCapStatement(db, row, limit) : insertKillSwitchStatement(db, row),
    limit
      ? adminAuditStatementIf(db, principal, record.audit, created)
      : adminAuditStatement(db, principal, record.audit),
  ];
  if (row.scope === 'session' && record.sessionConnectionId) {
    statements.push(suspendSessionIfSwitchStatement(db, row, record.sessionConnectionId));
  }
  return { statements, limit };
}

/** Runs the batch; throws 409 `limit_reached` (naming the limit) if a bounded switch was refused. */
export async function writeSwitchRecord(
  db: D1Database,
  principal: Principal,
  record: SwitchRecord,
): Promise<void> {
  const { statements, limit } = recordSwitchStatements(db, principal, record);
  const [inserted] = await db.batch(statements);
  if (limit) requireInserted(inserted, limit, record.where);
}
