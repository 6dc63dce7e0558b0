/**
 * The gateway's side of the `approvals` table (approval.gate.ts): expire, consume, find a denial,
 * and create-or-reuse the pending approval of one exact call. Each function is one D1 batch (a
 * transaction); consuming is a single conditional UPDATE, so an approval passes one call even
 * when identical calls race.
 */
import { randomId } from '../lib/ids';
import { type NotifyEvent, sendNotifyEvents } from '../shared/notify.message';

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
  /** Session taint: the labels that made the call need an approval (`onTaint: "approve"`); else null. */
  taint: string[] | null;
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

/** How many unexpired approvals may be pending at once: per caller on a connection, per organization. */
export interface PendingCaps {
  perCaller: number;
  perOrg: number;
}

export type PendingResult =
  | { kind: 'pending'; id: string; expiresAt: number; created: boolean }
  | { kind: 'limit'; scope: 'caller' | 'organization'; limit: number };

/**
 * The pending approval of this call: the one already waiting (repeats reuse it), or a new one —
 * unless the caller (API key, or member for an OAuth token: never X-Igris-User, which the caller
 * writes) already has `perCaller` unexpired approvals pending on this connection, or the
 * organization `perOrg`. The counts and the insert are one statement, and D1 runs one statement at
 * a time, so concurrent holds cannot overshoot a cap. Each count stops at its cap (LIMIT) and is read
 * from a partial index of pending rows (approvals_pending_caller / approvals_pending_org).
 */
export async function pendingApproval(
  db: D1Database,
  call: HeldCall,
  now: number,
  expiresAt: number,
  caps: PendingCaps,
): Promise<PendingResult> {
  const [inserted, pending] = await db.batch<{ id: string; expires_at: number }>([
    db
      .prepare(
        `INSERT INTO approvals (id, org_id, connection_id, connection_slug, protocol, api_key_id, user_id, caller,
           tool, args_hash, binding, args, rule_index, reason, taint, status, trace_id, requested_at, expires_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, 'pending', ?16, ?17, ?18
         WHERE (SELECT COUNT(*) FROM (SELECT 1 FROM approvals WHERE connection_id = ?3 AND api_key_id IS ?6
                  AND user_id IS ?7 AND status = 'pending' AND expires_at > ?17 LIMIT ?19)) < ?19
           AND (SELECT COUNT(*) FROM (SELECT 1 FROM approvals WHERE org_id = ?2 AND status = 'pending'
                  AND expires_at > ?17 LIMIT ?20)) < ?20
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
        call.taint ? JSON.stringify(call.taint) : null,
        call.traceId,
        now,
        expiresAt,
        caps.perCaller,
        caps.perOrg,
      ),
    db
      .prepare(`SELECT id, expires_at FROM approvals WHERE org_id = ? AND binding = ? AND status = 'pending'`)
      .bind(call.orgId, call.binding),
  ]);
  const created = inserted?.results[0];
  const row = created ?? pending?.results[0];
  if (row) return { kind: 'pending', id: row.id, expiresAt: row.expires_at, created: created !== undefined };
  return { kind: 'limit', ...(await capReached(db, call, now, caps)) };
}

/** Which cap refused a hold (read after the fact: an approval decided since may have freed a place). */
async function capReached(
  db: D1Database,
  call: HeldCall,
  now: number,
  caps: PendingCaps,
): Promise<{ scope: 'caller' | 'organization'; limit: number }> {
  const row = await db
    .prepare(
      `SELECT COUNT(*) AS n FROM (SELECT 1 FROM approvals WHERE connection_id = ?1 AND api_key_id IS ?2
         AND user_id IS ?3 AND status = 'pending' AND expires_at > ?4 LIMIT ?5)`,
    )
    .bind(call.connectionId, call.apiKeyId, call.userId, now, caps.perCaller)
    .first<{ n: number }>();
  return (row?.n ?? 0) >= caps.perCaller
    ? { scope: 'caller', limit: caps.perCaller }
    : { scope: 'organization', limit: caps.perOrg };
}

interface AnnouncedApproval {
  id: string;
  url: string;
  expiresAt: number;
}

/** What the inbox alert and the notification channels say about a new approval (no arguments: they may be private). */
function approvalDetails(call: HeldCall, approval: AnnouncedApproval): Record<string, unknown> {
  return {
    approvalId: approval.id,
    approvalUrl: approval.url,
    tool: call.tool,
    connectionSlug: call.connectionSlug,
    argsHash: call.argsHash,
    apiKeyId: call.apiKeyId,
    user: call.caller,
    traceId: call.traceId,
    expiresAt: new Date(approval.expiresAt).toISOString(),
    ...(call.reason ? { reason: call.reason } : {}),
    ...(call.taint ? { taint: call.taint } : {}),
  };
}

function approvalTitle(call: HeldCall): string {
  return `Approval requested: ${call.tool.slice(0, 100)} on ${call.connectionSlug}`;
}

/** The approval's alert in the inbox (workers/alerts/), one per approval; resolved when decided. */
export function approvalAlertStatement(
  db: D1Database,
  call: HeldCall,
  approval: AnnouncedApproval,
  now: number,
  alertId: string = randomId('alt'),
): D1PreparedStatement {
  const details = approvalDetails(call, approval);
  return db
    .prepare(
      `INSERT INTO alerts (id, org_id, fingerprint, type, severity, title, status, connection_id, count, details,
         first_seen_at, last_seen_at, updated_at)
       VALUES (?, ?, ?, 'approval', 'medium', ?, 'open', ?, 1, ?, ?, ?, ?)
       ON CONFLICT (org_id, fingerprint) WHERE status IN ('open', 'acknowledged') DO NOTHING`,
    )
    .bind(
      alertId,
      call.orgId,
      `approval:${approval.id}`,
      approvalTitle(call),
      call.connectionId,
      JSON.stringify(details),
      now,
      now,
      now,
    );
}

/**
 * The `approval_requested` event for the organization's notification channels (Slack, webhooks…:
 * workers/notify/), beside the inbox alert `alertId`. Approvers learn of a held call where they
 * are, not only in the dashboard.
 */
export function approvalNotifyEvent(
  call: HeldCall,
  approval: AnnouncedApproval,
  alertId: string,
  now: number,
): NotifyEvent {
  return {
    id: alertId,
    type: 'approval_requested',
    severity: 'medium',
    title: approvalTitle(call),
    alertId,
    connectionId: call.connectionId,
    fingerprint: `approval:${approval.id}`,
    details: approvalDetails(call, approval),
    occurredAt: new Date(now).toISOString(),
  };
}

/** Hands a new approval to the notification queue; best effort (the inbox alert is written either way). */
export async function notifyApprovalRequested(
  queue: Queue,
  call: HeldCall,
  approval: AnnouncedApproval,
  alertId: string,
  now: number,
): Promise<void> {
  await sendNotifyEvents(queue, call.orgId, [approvalNotifyEvent(call, approval, alertId, now)]);
}

/** What the notification channels learn when an approval is decided (so a Slack thread can close it). */
export interface DecidedApproval {
  id: string;
  orgId: string;
  connectionId: string;
  connectionSlug: string;
  tool: string;
  argsHash: string;
  verdict: 'approved' | 'denied';
  /** `user:<id>` or `key:<id>` of the approver. */
  decidedBy: string;
  traceId: string | null;
}

export function approvalDecidedEvent(decided: DecidedApproval, now: number): NotifyEvent {
  return {
    id: `${decided.id}:${decided.verdict}`,
    type: 'approval_decided',
    severity: 'info',
    title: `Approval ${decided.verdict}: ${decided.tool.slice(0, 100)} on ${decided.connectionSlug}`,
    alertId: null,
    connectionId: decided.connectionId,
    fingerprint: `approval:${decided.id}`,
    details: {
      approvalId: decided.id,
      verdict: decided.verdict,
      decidedBy: decided.decidedBy,
      tool: decided.tool,
      connectionSlug: decided.connectionSlug,
      argsHash: decided.argsHash,
      traceId: decided.traceId,
    },
    occurredAt: new Date(now).toISOString(),
  };
}
