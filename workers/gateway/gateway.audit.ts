/**
 * Audit rows that have no ConnectionGuard to ride on go to an AuditSpool Durable Object. Rows of
 * an organization land in one of the spool shards for it (durable-objects/do.client.ts); rows with no organization (no key,
 * unknown key) in the anonymous shards, so a flood of bad requests cannot pile onto one object.
 */
import { jsonRowStatements, rowForD1, UPSERT_SQL, valuesJson } from '../../durable-objects/audit.rows';
import { auditSpoolFor, burstSpoolFor } from '../../durable-objects/do.client';
import { addressKey } from '../auth/auth.limiter';
import type { AuditEventInsert } from '../db/schema';
import { auditName, redactSecrets } from '../lib/echo.safe';
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

/**
 * A gateway row as it is written: the names it keeps (method, tool, model) and the caller text its
 * details quote (a refusal's message, a decision's reason, an A2A skill) cleared of credentials
 * (lib/echo.safe.ts), whichever adapter built it. The row is read by every auditor of the
 * organization, exported, and sent as the live event; the caller chose these names. The places
 * that build the text bound and mask it already; this is the one place every row passes, so no
 * adapter can forget. A name that does not look like a credential is kept exactly as it was sent.
 */
export function echoSafeRow(row: AuditEventInsert): AuditEventInsert {
  const method = typeof row.method === 'string' ? auditName(row.method) : row.method;
  const tool = typeof row.tool === 'string' ? auditName(row.tool) : row.tool;
  const model = typeof row.model === 'string' ? auditName(row.model) : row.model;
  const details = row.details as Record<string, unknown> | null | undefined;
  const echoes =
    details && typeof details === 'object' && ECHOED_DETAILS.some((k) => typeof details[k] === 'string');
  // Every call writes a row and almost none holds a credential: the row itself, not a copy.
  if (!echoes && method === row.method && tool === row.tool && model === row.model) return row;
  const out = { ...row, method, tool, model };
  if (echoes) {
    const safe = { ...details };
    for (const key of ECHOED_DETAILS)
      if (typeof safe[key] === 'string') safe[key] = redactSecrets(safe[key] as string);
    if (typeof safe.skill === 'string') safe.skill = auditName(safe.skill);
    out.details = safe;
  }
  return out;
}

/** The details a gateway row quotes caller text in. */
const ECHOED_DETAILS = ['refusal', 'reason', 'skill'] as const;

export function echoSafeRows(rows: AuditEventInsert[]): AuditEventInsert[] {
  return rows.map(echoSafeRow);
}
