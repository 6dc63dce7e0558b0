/**
 * Audit rows that have no ConnectionGuard to ride on go to an AuditSpool Durable Object. Rows of
 * an organization land in one of SPOOL_SHARDS objects for it; rows with no organization (no key,
 * unknown key) in the anonymous shards, so a flood of bad requests cannot pile onto one object.
 */
import { bindValues, rowForD1, UPSERT_SQL } from '../../durable-objects/audit.rows';
import type { AuditEventInsert } from '../db/schema';
import { log } from '../lib/log';

export const SPOOL_SHARDS = 4;

export function spoolName(orgId: string | null | undefined): string {
  const shard = crypto.getRandomValues(new Uint8Array(1))[0]! % SPOOL_SHARDS;
  return `${orgId ?? 'anonymous'}:${shard}`;
}

/**
 * Spools rows durably; if the spool cannot be reached, writes them straight to D1 (the same
 * idempotent upsert the spool uses), so an answered request keeps its row either way. Throws only
 * when both fail.
 */
export async function spoolRefusal(
  env: Pick<Env, 'AUDIT_SPOOL' | 'DB'>,
  rows: AuditEventInsert[],
): Promise<void> {
  if (rows.length === 0) return;
  try {
    await env.AUDIT_SPOOL.getByName(spoolName(rows[0]!.orgId)).record(rows);
  } catch (err) {
    log('warn', 'audit spool unreachable; writing the rows to D1 directly', { err, rows: rows.length });
    await env.DB.batch(
      rows.map((row) => env.DB.prepare(UPSERT_SQL).bind(...bindValues(rowForD1(row, true)))),
    );
  }
}
