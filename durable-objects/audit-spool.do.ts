/**
 * AuditSpool — the durable audit buffer for rows that have no ConnectionGuard to ride on:
 * refusals before a connection is known (no key, unknown key, unknown slug) and other
 * organization-level events. Named `${orgId | 'anonymous'}:${shard}` so a flood of bad
 * requests is spread over several objects.
 *
 * Failure mode: fail-closed for the request it records (the caller answers 5xx if the spool is
 * unreachable), because an answer without its audit row is what we promise never to give.
 */
import { DurableObject } from 'cloudflare:workers';
import type { AuditEventInsert } from '../workers/db/schema';
import { SpoolScheduler } from './audit.spool';

export class AuditSpool extends DurableObject<Env> {
  readonly #audit: SpoolScheduler;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    this.#audit = new SpoolScheduler(ctx.storage, env.DB, 'AuditSpool');
  }

  async record(rows: AuditEventInsert[]): Promise<void> {
    for (const row of rows) this.#audit.spool.put(row, true);
    await this.#audit.arm();
  }

  override async alarm(): Promise<void> {
    await this.#audit.onAlarm();
  }
}
