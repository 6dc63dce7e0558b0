/**
 * Audit rows that have no ConnectionGuard to ride on go to an AuditSpool Durable Object. Rows of
 * an organization land in one of SPOOL_SHARDS objects for it; rows with no organization (no key,
 * unknown key) in the anonymous shards, so a flood of bad requests cannot pile onto one object.
 */
import type { AuditEventInsert } from '../db/schema';

export const SPOOL_SHARDS = 4;

export function spoolName(orgId: string | null | undefined): string {
  const shard = crypto.getRandomValues(new Uint8Array(1))[0]! % SPOOL_SHARDS;
  return `${orgId ?? 'anonymous'}:${shard}`;
}

export async function spoolRefusal(env: Pick<Env, 'AUDIT_SPOOL'>, rows: AuditEventInsert[]): Promise<void> {
  if (rows.length === 0) return;
  await env.AUDIT_SPOOL.getByName(spoolName(rows[0]!.orgId)).record(rows);
}
