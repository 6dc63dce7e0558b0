/**
 * The typed way to reach every Durable Object: callers name what they want (the guard of this
 * connection, the hub of this organization), never a `getByName` string. Object names are spelled
 * here and in guard.contract.ts only, so a rename cannot leave one call site behind.
 *
 * Fail modes are the callers' (docs/security-model.md lists each): the gateway fails a call
 * closed or open per connection when its guard is unreachable; live events are best effort; the
 * audit spool falls back to a direct D1 write; the login limiter fails closed; metrics are best
 * effort (a guard keeps and resends its deltas; a scrape that cannot reach the hub is a 503).
 */
import { boundedSet } from '../workers/lib/bounded.map';
import { log } from '../workers/lib/log';
import type { AuditSpool } from './audit-spool.do';
import { budgetObjectName } from './budget.contract';
import type { BudgetCounter } from './budget-counter.do';
import type { ConnectionGuard } from './connection-guard.do';
import { eventShardName } from './event.shards';
import type { EventHub } from './event-hub.do';
import { type GuardTarget, guardName } from './guard.contract';
import type { LoginLimiter } from './login-limiter.do';
import { metricsHubName } from './metrics.contract';
import type { MetricsHub } from './metrics-hub.do';
import type { SessionFacts } from './session-facts.do';

/** How many AuditSpool objects share an organization's (or the anonymous) refusal rows. */
export const SPOOL_SHARDS = 4;

/**
 * Guard ids by name, per isolate: deriving an id from a name is a keyed hash, and a call reaches
 * its guard two or three times (admit, outcome, kill watch). An id is a plain value (a stub is
 * not: stubs belong to the request that made them, so each call still makes its own).
 */
const guardIds = new Map<string, DurableObjectId>();
const MAX_GUARD_IDS = 10_000;

export function guardFor(
  env: Pick<Env, 'GUARD'>,
  orgId: string,
  connectionId: string,
): DurableObjectStub<ConnectionGuard> {
  const name = guardName(orgId, connectionId);
  let id = guardIds.get(name);
  if (!id) {
    id = env.GUARD.idFromName(name);
    boundedSet(guardIds, name, id, MAX_GUARD_IDS);
  }
  return env.GUARD.get(id);
}

/** Guards pushed to at once by forEachGuard: bounds the subrequests one API call keeps open. */
export const GUARD_PUSH_CONCURRENCY = 50;

/**
 * Runs `op` on the guard of each connection (a push from the API: a kill switch, a configuration
 * epoch), GUARD_PUSH_CONCURRENCY at a time — a pool: a slow guard holds one slot, not a batch —
 * retrying each failed guard once. Resolves with the reasons of the guards that failed twice; what
 * that means (503, a warning) is the caller's.
 */
export async function forEachGuard(
  env: Pick<Env, 'GUARD'>,
  orgId: string,
  connectionIds: readonly string[],
  op: (guard: DurableObjectStub<ConnectionGuard>, target: GuardTarget) => Promise<unknown>,
): Promise<unknown[]> {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < connectionIds.length) {
      const connectionId = connectionIds[next++]!;
      const attempt = () => op(guardFor(env, orgId, connectionId), { orgId, connectionId });
      await attempt()
        .catch(attempt)
        .catch((reason: unknown) => failures.push(reason));
    }
  };
  await Promise.all(Array.from({ length: Math.min(GUARD_PUSH_CONCURRENCY, connectionIds.length) }, worker));
  return failures;
}

/**
 * The connections whose guard holds a lease now (the API's clock; guard.lease.ts), listed by a push that must reach
 * every guard deciding from memory: all of the organization's if the leases cannot be read — the
 * guarantee is kept, at the cost of the caller's latency. List them only after the change the push
 * carries is committed in D1: D1 then serializes the two, and a guard left out read the change.
 */
export async function leasedGuards(db: D1Database, orgId: string, what: string): Promise<string[]> {
  try {
    const leased = await db
      .prepare('SELECT id FROM connections WHERE org_id = ? AND guard_lease_until > ?')
      .bind(orgId, Date.now())
      .all<{ id: string }>();
    return leased.results.map((r) => r.id);
  } catch (err) {
    log('warn', `guard leases not read; pushing ${what} to every connection`, { orgId, err });
    const all = await db
      .prepare('SELECT id FROM connections WHERE org_id = ?')
      .bind(orgId)
      .all<{ id: string }>();
    return all.results.map((r) => r.id);
  }
}

export function eventHubFor(env: Pick<Env, 'EVENT_HUB'>, orgId: string): DurableObjectStub<EventHub> {
  return env.EVENT_HUB.getByName(orgId);
}

/** Shard `shard` (1, 2, …) of an organization's hub: more of its streams (event.shards.ts). */
export function eventShardFor(
  env: Pick<Env, 'EVENT_HUB'>,
  orgId: string,
  shard: number,
): DurableObjectStub<EventHub> {
  return env.EVENT_HUB.getByName(eventShardName(orgId, shard));
}

/**
 * The organization's store of one linked agent session (session-facts.do.ts). `session` is the
 * gateway's session id (gateway.taint.ts `taintSession`: the API key id first), so the name is
 * organization- and key-scoped.
 */
export function sessionFactsFor(
  env: Pick<Env, 'SESSION_FACTS'>,
  orgId: string,
  session: string,
): DurableObjectStub<SessionFacts> {
  return env.SESSION_FACTS.getByName(`${orgId}:${session}`);
}

/** The organization's metric totals (metrics-hub.do.ts); fed by its guards, read by scrapes. */
export function metricsHubFor(env: Pick<Env, 'METRICS_HUB'>, orgId: string): DurableObjectStub<MetricsHub> {
  return env.METRICS_HUB.getByName(metricsHubName(orgId));
}

/**
 * One of the spool shards of an organization, or of the anonymous rows (no key, unknown key), so
 * a flood of bad requests cannot pile onto one object.
 */
export function auditSpoolFor(
  env: Pick<Env, 'AUDIT_SPOOL'>,
  orgId: string | null | undefined,
): DurableObjectStub<AuditSpool> {
  const shard = crypto.getRandomValues(new Uint8Array(1))[0]! % SPOOL_SHARDS;
  return env.AUDIT_SPOOL.getByName(`${orgId ?? 'anonymous'}:${shard}`);
}

/**
 * The anonymous shard that counts one source's refusals before authentication: one source always
 * lands on the same shard, so its burst is counted in one place (refusal.bursts.ts).
 */
export function burstSpoolFor(env: Pick<Env, 'AUDIT_SPOOL'>, source: string): DurableObjectStub<AuditSpool> {
  let hash = 0x811c9dc5; // FNV-1a: spreads sources over the shards, no secrecy needed
  for (let i = 0; i < source.length; i++) hash = Math.imul(hash ^ source.charCodeAt(i), 0x01000193);
  return env.AUDIT_SPOOL.getByName(`anonymous:${(hash >>> 0) % SPOOL_SHARDS}`);
}

/** The limiter of one key: `acct:<sha256(email)>` for an account, `ip:<address>` for a source. */
export function loginLimiterFor(
  env: Pick<Env, 'LOGIN_LIMITER'>,
  key: string,
): DurableObjectStub<LoginLimiter> {
  return env.LOGIN_LIMITER.getByName(key);
}

/** The counters of one budget (budget-counter.do.ts); fail mode: the connection's (budget.gate.ts). */
export function budgetCounterFor(
  env: Pick<Env, 'BUDGETS'>,
  budgetId: string,
): DurableObjectStub<BudgetCounter> {
  return env.BUDGETS.getByName(budgetObjectName(budgetId));
}
