/**
 * How a kill switch reaches the gateways: pushed by RPC to every ConnectionGuard it concerns, and
 * the API answers only after every one confirmed (never through KV). Lives apart from the record
 * (killswitch.service.ts) because it is the one part that talks to Durable Objects.
 *
 * A push costs each guard no D1 read: a guard that has not decided a call yet (never called, or
 * evicted) keeps the pushed switch for its first call, which loads the rest from D1 before deciding
 * anything (connection-guard.do.ts applyKill) — so an organization-wide switch over many idle
 * connections does not put one D1 read per connection on the answer's path.
 *
 * If a guard cannot be reached the record still stands (guards re-read D1 every 30 s) and the API
 * answers 503 naming how many did not confirm; repeating the request retries the push. (The
 * session_update events a change causes are published by its route, with events.publish.ts.)
 */
import { forEachGuard, type guardFor } from '../../durable-objects/do.client';
import { connectionIdOfSession, type GuardTarget } from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import type { KillSwitchDbRow } from '../shared/killswitch.store';

export type KillSwitchEnv = Pick<Env, 'DB' | 'GUARD' | 'EVENT_HUB'>;
type GuardStub = ReturnType<typeof guardFor>;

/**
 * The connections whose guards a switch concerns: organization / user / apiKey scope, every
 * connection of the organization; connection / session scope, that one.
 */
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
export async function pushToGuards(
  env: KillSwitchEnv,
  row: KillSwitchDbRow,
  op: (guard: GuardStub, target: GuardTarget) => Promise<unknown>,
): Promise<void> {
  const connectionIds = await affectedConnections(env.DB, row);
  const failures = await forEachGuard(env, row.org_id, connectionIds, op);
  if (failures.length > 0) {
    log('error', 'kill switch not confirmed by every guard', { killSwitchId: row.id, failures });
    throw new AppError('guard_unavailable', {
      message: `Kill switch ${row.id} is recorded, but ${failures.length} of ${connectionIds.length} connection(s) did not confirm it; they apply it within 30 seconds. Repeat the request to retry.`,
      details: { killSwitchId: row.id, unconfirmed: failures.length, connections: connectionIds.length },
    });
  }
}
