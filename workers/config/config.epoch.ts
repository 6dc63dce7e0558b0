/**
 * How a management change reaches every isolate's caches at once: the organization's
 * configuration epoch.
 *
 * The gateway keeps what it reads per call in isolate memory — the key and connection (with the
 * parsed settings and the decrypted credential), the compiled policy, teams, budgets, prompts,
 * integrity state and detection rules — so a call in the steady state makes no D1 query and no KV
 * read. Every cached entry is tagged with the epoch it was read at. Every management change bumps
 * `organizations.config_epoch` in D1 and pushes the new value to the organization's guards that may
 * hold an older one in memory — those with a live lease (durable-objects/guard.lease.ts), not every
 * connection: a guard not in memory, or idle past its lease, reads the epoch from D1 before it
 * decides — before the API answers (announceConfigChange). So an admin action costs as many guard
 * round trips as there are active guards, whatever the number of idle connections. A call sends the epoch of the data it was decided on
 * with its one guard round trip (AdmitRequest.configEpoch); a guard that knows a newer epoch
 * answers `stale` without recording or counting anything, and the gateway re-reads and decides
 * again. So revoking a key, disabling or deleting a connection, rotating a credential, changing a
 * member's role or publishing a policy is in force for the next call everywhere, at the cost of one
 * extra round trip for the first call of each isolate after a change.
 *
 * Safety nets: entries also expire after POLICY_CACHE_TTL_MS (default 10 s), and a guard re-reads
 * the epoch from D1 when it starts, when its lease lapsed, and every 30 s while it decides calls (a
 * push that failed is bounded by that).
 */
import { forEachGuard, leasedGuards } from '../../durable-objects/do.client';
import { log } from '../lib/log';
import { knownEpoch, learnEpoch } from './config.known';

// The epochs this isolate knows and the per-organization cache live in config.known.ts (pure, so
// testable in plain Node); re-exported here, where every cache imports them from.
export { cacheMaxAgeMs, isCurrent, knownEpoch, learnEpoch, orgConfigCache } from './config.known';

/**
 * A change to the organization's configuration was committed: bump the epoch, apply it to this
 * isolate at once, and push it to the organization's leased guards before returning. A guard that
 * could not be reached learns it from D1 within 30 s (logged; the change itself is committed).
 */
export async function announceConfigChange(
  env: Pick<Env, 'DB' | 'GUARD'>,
  orgId: string,
  /** Guards D1 no longer lists (a connection just deleted): told too, so its cached entries die. */
  alsoConnections: string[] = [],
): Promise<number> {
  const epoch = await bumpConfigEpoch(env.DB, orgId);
  if (epoch === null) return knownEpoch(orgId);
  learnEpoch(orgId, epoch);
  await pushConfigEpoch(env, orgId, epoch, alsoConnections);
  return epoch;
}

/** The D1 half: the organization's next epoch (null when it does not exist). */
export async function bumpConfigEpoch(db: D1Database, orgId: string): Promise<number | null> {
  const row = await db
    .prepare('UPDATE organizations SET config_epoch = config_epoch + 1 WHERE id = ? RETURNING config_epoch')
    .bind(orgId)
    .first<{ config_epoch: number }>();
  return row?.config_epoch ?? null;
}

/**
 * The guards' half: every guard of the organization holding a lease learns the epoch (one retry
 * each). The leases are listed after the bump, in D1, which serializes them with the guards' reads
 * (guard.lease.ts says why that is enough). If they cannot be listed, every connection is pushed to:
 * the guarantee is kept at the cost of the admin's latency. Returns how many guards were pushed to.
 */
export async function pushConfigEpoch(
  env: Pick<Env, 'DB' | 'GUARD'>,
  orgId: string,
  epoch: number,
  alsoConnections: string[] = [],
): Promise<number> {
  const listed = await leasedGuards(env.DB, orgId, 'the epoch');
  const ids = new Set([...listed, ...alsoConnections]);
  const failures = await forEachGuard(env, orgId, [...ids], (guard, target) =>
    guard.configChanged(target, epoch),
  );
  const failed = failures.length;
  log('info', 'configuration epoch pushed', { orgId, epoch, guards: ids.size });
  if (failed > 0) {
    log('warn', 'configuration epoch not confirmed by every guard; they read it from D1 within 30 s', {
      orgId,
      epoch,
      failed,
    });
  }
  return ids.size;
}
