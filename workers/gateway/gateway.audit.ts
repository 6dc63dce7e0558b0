/**
 * Audit rows that have no ConnectionGuard to ride on go to an AuditSpool Durable Object. Rows of
 * an organization land in one of the spool shards for it (durable-objects/do.client.ts); rows with no organization (no key,
 * unknown key) in the anonymous shards, so a flood of bad requests cannot pile onto one object.
 */
import { jsonRowStatements, rowForD1, UPSERT_SQL, valuesJson } from '../../durable-objects/audit.rows';
import { auditSpoolFor, burstSpoolFor } from '../../durable-objects/do.client';
import { addressKey } from '../auth/auth.limiter';
import type { AuditEventInsert } from '../db/schema';
import { log } from '../lib/log';

/**
 * Where a refusal before authentication came from: the client address (IPv6 by /64, as the
 * sign-in limiter counts it), or `unknown` when the request carries no `CF-Connecting-IP` (a
 * Worker test's dispatched request; the local runtime sets it to the peer's address, 127.0.0.1).
 */
export function refusalSource(headers: Headers): string {
  return addressKey(headers.get('CF-Connecting-IP')).slice('ip:'.length);
}

/**
 * Spools rows durably; if the spool cannot be reached, writes them straight to D1 (the same
 * idempotent upsert the spool uses), so an answered request keeps its row either way. Throws only
 * when both fail.
 */
export async function spoolRefusal(
  env: Pick<Env, 'AUDIT_SPOOL' | 'DB'>,
  rows: AuditEventInsert[],
  /**
   * The caller's address (refusalSource) when the refusal came before authentication: the row is
   * then counted into that source's burst for the minute, one row per burst (refusal.bursts.ts).
   */
  source?: string,
): Promise<void> {
  if (rows.length === 0) return;
  try {
    const [row] = rows;
    if (source !== undefined && rows.length === 1 && row!.orgId == null) {
      await burstSpoolFor(env, source).countRefusal(row!, source);
    } else {
      await auditSpoolFor(env, rows[0]!.orgId).record(rows);
    }
  } catch (err) {
    log('warn', 'audit spool unreachable; writing the rows to D1 directly', { err, rows: rows.length });
    await env.DB.batch(
      jsonRowStatements(
        env.DB,
        UPSERT_SQL,
        rows.map((row) => valuesJson(rowForD1(row, true))),
      ),
    );
  }
}
