/**
 * The state a ConnectionGuard reads from D1 (connection-guard.do.ts): once when the object starts,
 * inside blockConcurrencyWhile, and then every RESYNC_MS as a safety net for a push that failed.
 * One batch, three statements: the organization's active kill switches (the guard keeps those
 * that concern it, kill.match.ts), the connection's anomaly settings, and the organization's
 * configuration epoch. Never KV: a kill switch must not wait out KV's propagation delay.
 */
import { parseStoredJson } from '../workers/lib/values';
import { readConnectionSettings } from '../workers/shared/connection.settings';
import { activeKillSwitchesStatement } from '../workers/shared/killswitch.store';
import type { AnomalySettings } from './anomaly.detect';
import type { GuardTarget } from './guard.contract';
import type { KillRecord } from './kill.match';

export interface GuardD1State {
  /** Every active switch of the organization, not yet filtered for this guard. */
  kills: KillRecord[];
  anomaly: AnomalySettings;
  configEpoch: number;
}

export async function readGuardState(db: D1Database, target: GuardTarget): Promise<GuardD1State> {
  const [kills, connection, org] = await db.batch([
    activeKillSwitchesStatement(db, target.orgId),
    db
      .prepare('SELECT settings FROM connections WHERE id = ? AND org_id = ?')
      .bind(target.connectionId, target.orgId),
    db.prepare('SELECT config_epoch FROM organizations WHERE id = ?').bind(target.orgId),
  ]);
  const settings = (connection?.results[0] as { settings: string } | undefined)?.settings;
  return {
    kills: (kills?.results ?? []) as KillRecord[],
    anomaly: readConnectionSettings(parseStoredJson(settings)).anomaly ?? {},
    configEpoch: (org?.results[0] as { config_epoch: number } | undefined)?.config_epoch ?? 0,
  };
}
