/**
 * How a kill switch reaches the gateways: pushed by RPC to the ConnectionGuards it concerns that
 * decide from memory, and the API answers only after every one confirmed (never through KV). Lives
 * apart from the record (killswitch.service.ts) because it is the one part that talks to Durable
 * Objects.
 *
 * Which guards: a connection or session switch, that connection's; an organization, user or apiKey
 * switch, the organization's guards holding a lease (durable-objects/guard.lease.ts), not every
 * connection — an emergency stop over 1,000 mostly idle connections wakes the few active guards,
 * not 1,000. Why a guard left out cannot admit a call that starts after the answer:
 *   - the switch's record (or its lift) is committed before the leases are listed (the service
 *     awaits the write before it pushes, on every path; a repeat pushes a row it read from D1);
 *   - a guard writes its lease in the same D1 transaction as the read of its switches, so D1 orders
 *     that read against the record: a guard whose read came before the record's commit wrote its
 *     lease before the listing too, and is listed (and pushed); one whose read came after read the
 *     record (or the lift);
 *   - a guard decides from memory only while its lease lasts, less LEASE_MARGIN_MS (30 s), by its
 *     own clock, and the listing compares with the API's: while the API's clock is less than 30 s
 *     ahead of the guard's, a guard the listing left out is a guard whose next admit or watch re-reads
 *     D1 (inside blockConcurrencyWhile) before deciding — as a guard not in memory does when it starts;
 *   - a lift must also undo a push the guard holds for PUSH_TRUST_MS whatever D1 says
 *     (durable-objects/kill.held.ts): that re-read also asks D1 whether the switches it holds that
 *     way were lifted, and drops those.
 * If the leases cannot be read, every connection of the organization is pushed to.
 *
 * A push costs each guard no D1 read: a guard not loaded yet (its object evicted while its lease
 * lasts) keeps the pushed switch for its first call, which loads the rest from D1 before deciding
 * anything (connection-guard.do.ts applyKill).
 *
 * If a guard cannot be reached the record still stands (guards re-read D1 every 30 s) and the API
 * answers 503 naming how many did not confirm; repeating the request retries the push. (The
 * session_update events a change causes are published by its route, with events.publish.ts.)
 */
import { forEachGuard, type guardFor, leasedGuards } from '../../durable-objects/do.client';
import { connectionIdOfSession, type GuardTarget } from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import type { KillSwitchDbRow } from '../shared/killswitch.store';

export type KillSwitchEnv = Pick<Env, 'DB' | 'GUARD' | 'EVENT_HUB'>;
type GuardStub = ReturnType<typeof guardFor>;

/**
 * The connections whose guards a switch (or its lift) is pushed to: connection / session scope, that
 * one; organization / user / apiKey scope, the organization's leased guards. Call it only once the
 * record (or the lift) is committed (above).
 */
async function affectedConnections(db: D1Database, row: KillSwitchDbRow): Promise<string[]> {
  if (row.scope === 'connection') return [row.target];
  if (row.scope === 'session') {
    const id = connectionIdOfSession(row.target);
    return id ? [id] : [];
  }
  return leasedGuards(db, row.org_id, 'the kill switch');
}

/** Calls `op` on every guard to push to (one retry each); throws 503 if any did not confirm. */
export async function pushToGuards(
  env: KillSwitchEnv,
  row: KillSwitchDbRow,
  op: (guard: GuardStub, target: GuardTarget) => Promise<unknown>,
): Promise<void> {
  const connectionIds = await affectedConnections(env.DB, row);
  const failures = await forEachGuard(env, row.org_id, connectionIds, op);
  log('info', 'kill switch pushed', {
    orgId: row.org_id,
    killSwitchId: row.id,
    guards: connectionIds.length,
  });
  if (failures.length > 0) {
    log('error', 'kill switch not confirmed by every guard', { killSwitchId: row.id, failures });
    throw new AppError('guard_unavailable', {
      message: `Kill switch ${row.id} is recorded, but ${failures.length} of ${connectionIds.length} connection(s) did not confirm it; they apply it within 30 seconds. Repeat the request to retry.`,
      details: { killSwitchId: row.id, unconfirmed: failures.length, connections: connectionIds.length },
    });
  }
}
