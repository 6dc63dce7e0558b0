/**
 * The state a ConnectionGuard reads from D1 (connection-guard.do.ts): once when the object starts,
 * inside blockConcurrencyWhile, and then every RESYNC_MS as a safety net for a push that failed.
 * One batch, three statements: the organization's active kill switches (the guard keeps those
 * that concern it, kill.match.ts), the connection's anomaly settings, and the organization's
 * configuration epoch — and, when the guard takes or renews its lease (guard.lease.ts), the lease
 * write first, in the same transaction as the epoch read. Never KV: a kill switch must not wait
 * out KV's propagation delay.
 */
import { parseStoredJson } from '../workers/lib/values';
import { readConnectionSettings } from '../workers/shared/connection.settings';
import { activeKillSwitchesStatement, liftedKillSwitchesStatement } from '../workers/shared/killswitch.store';
import type { AnomalySettings } from './anomaly.detect';
import type { GuardTarget } from './guard.contract';
import type { KillRecord } from './kill.match';

export interface GuardD1State {
  /** Every active switch of the organization, not yet filtered for this guard. */
  kills: KillRecord[];
  anomaly: AnomalySettings;
  configEpoch: number;
  /** Of the switches the guard holds from a push (`held`), those D1 says are lifted. */
  lifted: string[];
}

/**
 * `leaseUntil`: the lease to write with the read (guard.lease.ts), or none (a renewal not due yet).
 * `held`: the switches the guard holds from a push whatever D1 says (kill.held.ts `pushedIds`); a
 * fourth statement, only when there are any, says which of them are lifted.
 */
export async function readGuardState(
  db: D1Database,
  target: GuardTarget,
  leaseUntil?: number,
  held: readonly string[] = [],
): Promise<GuardD1State> {
  const lease = leaseUntil === undefined ? [] : [leaseStatement(db, target, leaseUntil)];
  const [kills, connection, org, lifted] = (
    await db.batch([
      ...lease,
      activeKillSwitchesStatement(db, target.orgId),
      db
        .prepare('SELECT settings FROM connections WHERE id = ? AND org_id = ?')
        .bind(target.connectionId, target.orgId),
      db.prepare('SELECT config_epoch FROM organizations WHERE id = ?').bind(target.orgId),
      ...(held.length ? [liftedKillSwitchesStatement(db, target.orgId, held)] : []),
    ])
  ).slice(lease.length);
  const settings = (connection?.results[0] as { settings: string } | undefined)?.settings;
  return {
    kills: (kills?.results ?? []) as KillRecord[],
    anomaly: readConnectionSettings(parseStoredJson(settings)).anomaly ?? {},
    configEpoch: (org?.results[0] as { config_epoch: number } | undefined)?.config_epoch ?? 0,
    lifted: ((lifted?.results ?? []) as { id: string }[]).map((r) => r.id),
  };
}

/** The write that takes the lease (guard.lease.ts): the guard's own connection row, in its own organization. */
function leaseStatement(db: D1Database, target: GuardTarget, until: number): D1PreparedStatement {
  return db
    .prepare('UPDATE connections SET guard_lease_until = ? WHERE id = ? AND org_id = ?')
    .bind(until, target.connectionId, target.orgId);
}
