/**
 * The gateway's side of the `approvals` table (approval.gate.ts): expire, consume, find a denial,
 * and create-or-reuse the pending approval of one exact call. Each function is one D1 batch (a
 * transaction); consuming is a single conditional UPDATE, so an approval passes one call even
 * when identical calls race.
 */
import { randomId } from '../lib/ids';

export interface HeldCall {
  orgId: string;
  connectionId: string;
  connectionSlug: string;
  protocol: string;
  apiKeyId: string | null;
  userId: string | null;
  caller: string | null;
  tool: string;
  argsHash: string;
  binding: string;
  /** Canonical JSON of the arguments, or null when too large to show. */
  args: string | null;
  ruleIndex: number | null;
  reason: string | null;
  traceId: string;
}

export type Lookup = { kind: 'used'; id: string } | { kind: 'denied'; id: string } | { kind: 'none' };

/**
 * Marks this call's stale approvals expired, then consumes an approved, unexpired, unused one.
 * Without one, reports a standing denial of the same call (until its expiry).
 */
export async function consumeApproval(
  db: D1Database,
  orgId: string,
  binding: string,
  now: number,
): Promise<Lookup> {
  const [, used, denied] = await db.batch<{ id: string }>([
    db
      .prepare(
        `UPDATE approvals SET status = 'expired'
         WHERE org_id = ? AND binding = ? AND status IN ('pending', 'approved') AND expires_at <= ?`,
      )
      .bind(orgId, binding, now),
    db
      .prepare(
        `UPDATE approvals SET status = 'used', used_at = ?1
         WHERE id = (SELECT id FROM approvals WHERE org_id = ?2 AND binding = ?3 AND status = 'approved'
                       AND expires_at > ?1 ORDER BY decided_at LIMIT 1)
           AND status = 'approved' AND expires_at > ?1
         RETURNING id`,
      )
      .bind(now, orgId, binding),
    db
      .prepare(
        `SELECT id FROM approvals WHERE org_id = ? AND binding = ? AND status = 'denied' AND expires_at > ?
         ORDER BY decided_at DESC LIMIT 1`,
      )
      .bind(orgId, binding, now),
  ]);
  const usedId = used?.results[0]?.id;
  if (usedId) return { kind: 'used', id: usedId };
  const deniedId = denied?.results[0]?.id;
  return deniedId ? { kind: 'denied', id: deniedId } : { kind: 'none' };
}

/** The pending approval of this call: the one already waiting (repeats reuse it), or a new one. */
export async function pendingApproval(
  db: D1Database,
  call: HeldCall,
  now: number,
  expiresAt: number,
): Promise<{ id: string; expiresAt: number; created: boolean }> {
  const [inserted, pending] = await db.batch<{ id: string; expires_at: number }>([
    db
      .prepare(
        `INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, api_key_id, user_id, caller,
           tool, args_hash, binding, args, rule_index, reason, status, trace_id, requested_at, expires_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'pending', ?, ?, ?)
         ON CONFLICT (org_id, binding) WHERE status = 'pending' DO NOTHING
         RETURNING id, expires_at`,
      )
      .bind(
        randomId('apr'),
        call.orgId,
        call.connectionId,
        call.connectionSlug,
        call.protocol,
        call.apiKeyId,
        call.userId,
        call.caller,
        call.tool,
        call.argsHash,
        call.binding,
        call.args,
        call.ruleIndex,
        call.reason,
        call.traceId,
        now,
        expiresAt,
      ),
    db
      .prepare(`SELECT id, expires_at FROM approvals WHERE org_id = ? AND binding = ? AND status = 'pending'`)
      .bind(call.orgId, call.binding),
  ]);
  const created = inserted?.results[0];
  const row = created ?? pending?.results[0];
  if (!row) throw new Error('pending approval neither inserted nor found');
  return { id: row.id, expiresAt: row.expires_at, created: created !== undefined };
}

/** The approval's alert in the inbox (workers/alerts/), one per approval; resolved when decided. */
export function approvalAlertStatement(
  db: D1Database,
  call: HeldCall,
  approval: { id: string; url: string; expiresAt: number },
  now: number,
): D1PreparedStatement {
  const details = {
    approvalId: approval.id,
    approvalUrl: approval.url,
    tool: call.tool,
    argsHash: call.argsHash,
    apiKeyId: call.apiKeyId,
    user: call.caller,
    traceId: call.traceId,
    expiresAt: new Date(approval.expiresAt).toISOString(),
  };
  return db
    .prepare(
      `INSERT INTO alerts (id, org_id, fingerprint, type, severity, title, status, connection_id, count, details,
         first_seen_at, last_seen_at, updated_at)
       VALUES (?, ?, ?, 'approval', 'medium', ?, 'open', ?, 1, ?, ?, ?, ?)
       ON CONFLICT (org_id, fingerprint) WHERE status IN ('open', 'acknowledged') DO NOTHING`,
    )
    .bind(
      randomId('alt'),
      call.orgId,
      `approval:${approval.id}`,
      `Approval requested: ${call.tool.slice(0, 100)} on ${call.connectionSlug}`,
      call.connectionId,
      JSON.stringify(details),
      now,
      now,
      now,
    );
}
