/**
 * AuditSpool — the durable audit buffer for rows that have no ConnectionGuard to ride on:
 * refusals before a connection is known (no key, unknown key, unknown slug) and other
 * organization-level events. Named `${orgId | 'anonymous'}:${shard}` so a flood of bad
 * requests is spread over several objects.
 *
 * Refusals before authentication are not one row each: `countRefusal` folds them into one row per
 * source address per minute with a `count` (refusal.bursts.ts), so a flood of unauthenticated
 * requests costs D1 one row per source and minute, not one per request.
 *
 * Failure mode: fail-closed for the request it records (the caller answers 5xx if the spool is
 * unreachable), because an answer without its audit row is what we promise never to give.
 */
import { DurableObject } from 'cloudflare:workers';
import type { AuditEventInsert } from '../workers/db/schema';
import { chainName } from './audit.chain';
import { SpoolScheduler } from './audit.scheduler';
import { RefusalBursts } from './refusal.bursts';

export class AuditSpool extends DurableObject<Env> {
  readonly #audit: SpoolScheduler;
  readonly #bursts: RefusalBursts;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#audit = new SpoolScheduler(ctx.storage, env, 'AuditSpool', chainName('AuditSpool', ctx));
    this.#bursts = new RefusalBursts(ctx.storage.sql);
  }

  async record(rows: AuditEventInsert[]): Promise<void> {
    for (const row of rows) this.#audit.spool.put(row, true);
    await this.#audit.arm();
  }

  /**
   * Counts a refusal made before authentication (no key, unknown key…) into its source's burst
   * for the current minute, and spools the burst's ONE audit row with the count so far (see
   * refusal.bursts.ts). Returns the count, for tests and logs.
   */
  async countRefusal(row: AuditEventInsert, source: string): Promise<number> {
    const burst = this.#bursts.count(row, source);
    this.#audit.spool.put(burst.row, true);
    await this.#audit.arm();
    return burst.count;
  }

  override async alarm(): Promise<void> {
    await this.#audit.onAlarm();
  }
}
