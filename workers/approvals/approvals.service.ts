/**
 * The approvals API (docs/policies.md#approvals): list, read, approve and deny the calls the
 * gateway held for approval (approval.gate.ts writes them).
 *
 * Who:
 *   - reading follows `audit:read` — owners, admins and auditors see every approval of the
 *     organization; a developer those of their own connections and of their own calls;
 *   - deciding needs at least the connection's `settings.approvals.approverRole` (default admin:
 *     owners and admins); a developer approver decides only on connections they may manage;
 *   - the API key that made the call can never approve (or deny) it.
 * Every statement is scoped to the principal's organization: another organization's id is 404.
 * Every decision is audited (who, when, which call) in the same breath as it is made.
 */
import type { Principal } from '../app.types';
import { adminAuditStatementIf } from '../audit/audit.admin';
import { requireOnResource, requirePermission } from '../auth/permissions';
import type { ApprovalStatus, Role } from '../db/schema';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { iso, parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { sendNotifyEvents } from '../shared/notify.message';
import { roleWithin } from '../shared/roles';
import { approvalDecidedEvent } from './approval.store';
import type { ApprovalDecision, ApprovalDto, ApprovalListQuery } from './approvals.schemas';

type ApprovalsEnv = Pick<Env, 'DB'>;
type DecideEnv = Pick<Env, 'DB' | 'NOTIFY_QUEUE'>;

interface DbApproval {
  id: string;
  connection_id: string;
  connection_slug: string;
  protocol: string;
  api_key_id: string | null;
  user_id: string | null;
  caller: string | null;
  tool: string;
  args_hash: string;
  args: string | null;
  rule_index: number | null;
  reason: string | null;
  taint: string | null;
  status: ApprovalStatus;
  trace_id: string | null;
  requested_at: number;
  expires_at: number;
  decided_by: string | null;
  decided_at: number | null;
  comment: string | null;
  used_at: number | null;
  /** Joined from connections. */
  created_by: string | null;
  settings: string | null;
}

const SELECT = `SELECT a.id, a.connection_id, a.connection_slug, a.protocol, a.api_key_id, a.user_id, a.caller,
  a.tool, a.args_hash, a.args, a.rule_index, a.reason, a.taint, a.status, a.trace_id, a.requested_at, a.expires_at,
  a.decided_by, a.decided_at, a.comment, a.used_at, c.created_by, c.settings
  FROM approvals a JOIN connections c ON c.id = a.connection_id AND c.org_id = a.org_id`;

/** Pending and approved approvals past their expiry are expired, whether or not a call noticed yet. */
function effectiveStatus(row: Pick<DbApproval, 'status' | 'expires_at'>, now: number): ApprovalStatus {
  return (row.status === 'pending' || row.status === 'approved') && row.expires_at <= now
    ? 'expired'
    : row.status;
}

function dto(row: DbApproval, now: number): ApprovalDto {
  return {
    id: row.id,
    connectionId: row.connection_id,
    connectionSlug: row.connection_slug,
    protocol: row.protocol,
    tool: row.tool,
    argsHash: row.args_hash,
    args: row.args === null ? null : parseStoredJson(row.args),
    apiKeyId: row.api_key_id,
    userId: row.user_id,
    caller: row.caller,
    ruleIndex: row.rule_index,
    reason: row.reason,
    taint: taintOf(row.taint),
    status: effectiveStatus(row, now),
    traceId: row.trace_id,
    requestedAt: iso(row.requested_at)!,
    expiresAt: iso(row.expires_at)!,
    decidedBy: row.decided_by,
    decidedAt: iso(row.decided_at),
    comment: row.comment,
    usedAt: iso(row.used_at),
  };
}

/** The stored taint labels (a JSON list), or null for an approval an `approve` rule asked for. */
function taintOf(stored: string | null): string[] | null {
  const value = stored === null ? null : parseStoredJson(stored);
  return Array.isArray(value) ? value.filter((label): label is string => typeof label === 'string') : null;
}

/** The SQL of an effective status (see effectiveStatus), with its binds. */
function statusFilter(status: ApprovalStatus, now: number): { sql: string; binds: unknown[] } {
  if (status === 'pending' || status === 'approved') {
    return { sql: 'a.status = ? AND a.expires_at > ?', binds: [status, now] };
  }
  if (status === 'expired') {
    return {
      sql: "(a.status = 'expired' OR (a.status IN ('pending', 'approved') AND a.expires_at <= ?))",
      binds: [now],
    };
  }
  return { sql: 'a.status = ?', binds: [status] };
}

export async function listApprovals(
  env: ApprovalsEnv,
  principal: Principal,
  query: ApprovalListQuery,
): Promise<{ approvals: ApprovalDto[] }> {
  const grant = requirePermission(principal, 'audit:read');
  const now = Date.now();
  const where = ['a.org_id = ?'];
  const binds: unknown[] = [principal.orgId];
  if (grant === 'own') {
    where.push('(c.created_by = ? OR a.user_id = ?)');
    binds.push(principal.userId, principal.userId);
  }
  if (query.status) {
    const filter = statusFilter(query.status, now);
    where.push(filter.sql);
    binds.push(...filter.binds);
  }
  if (query.connectionId) {
    where.push('a.connection_id = ?');
    binds.push(query.connectionId);
  }
  const { results } = await env.DB.prepare(
    `${SELECT} WHERE ${where.join(' AND ')} ORDER BY a.requested_at DESC, a.id DESC LIMIT ?`,
  )
    .bind(...binds, query.limit)
    .all<DbApproval>();
  return { approvals: results.map((row) => dto(row, now)) };
}

/** One approval of the principal's organization that the principal may read; 404 otherwise. */
async function readable(env: ApprovalsEnv, principal: Principal, id: string): Promise<DbApproval> {
  const grant = requirePermission(principal, 'audit:read');
  const row = await env.DB.prepare(`${SELECT} WHERE a.id = ? AND a.org_id = ?`)
    .bind(id, principal.orgId)
    .first<DbApproval>();
  const own = row && (row.created_by === principal.userId || row.user_id === principal.userId);
  if (!row || (grant === 'own' && (principal.userId === null || !own))) {
    throw new AppError('not_found', {
      message: 'Approval not found',
      details: { location: 'path', path: 'id' },
    });
  }
  return row;
}

export async function getApproval(env: ApprovalsEnv, principal: Principal, id: string): Promise<ApprovalDto> {
  return dto(await readable(env, principal, id), Date.now());
}

/** The least role that may decide on this connection's approvals, and whether the principal holds it. */
function requireApprover(principal: Principal, row: DbApproval): void {
  const settings = readConnectionSettings(row.settings === null ? {} : parseStoredJson(row.settings));
  const least: Role = settings.approvals?.approverRole ?? 'admin';
  if (principal.role === 'auditor' || !roleWithin(least, principal.role)) {
    throw new AppError('forbidden', {
      message: `Approving calls on this connection needs the ${least} role or higher (role ${principal.role})`,
      details: { role: principal.role, approverRole: least },
    });
  }
  // A developer approver decides only on connections they manage.
  if (principal.role === 'developer') requireOnResource(principal, 'connections:write', row.created_by);
  if (principal.apiKeyId !== null && principal.apiKeyId === row.api_key_id) {
    throw new AppError('forbidden', {
      message: 'The API key that made a call cannot approve or deny it',
      details: { reason: 'self_approval' },
    });
  }
}

export async function decideApproval(
  env: DecideEnv,
  principal: Principal,
  id: string,
  verdict: 'approved' | 'denied',
  input: ApprovalDecision,
): Promise<ApprovalDto> {
  const row = await readable(env, principal, id);
  requireApprover(principal, row);
  const now = Date.now();
  const status = effectiveStatus(row, now);
  if (status !== 'pending') {
    throw new AppError('conflict', {
      message: `This approval is ${status}: only a pending approval can be approved or denied`,
      details: { status },
    });
  }
  // Conditional on still pending and unexpired: two approvers racing decide once. The record is
  // written first in the same transaction, on the same condition, so only the decision that
  // happens has a row.
  const stillPending = {
    sql: "SELECT 1 FROM approvals WHERE id = ? AND org_id = ? AND status = 'pending' AND expires_at > ?",
    binds: [id, principal.orgId, now],
  };
  const [, decided] = await env.DB.batch<{ id: string }>([
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: verdict === 'approved' ? 'approval_approved' : 'approval_denied',
        connectionId: row.connection_id,
        connectionSlug: row.connection_slug,
        details: {
          approvalId: id,
          tool: row.tool,
          argsHash: row.args_hash,
          requester: { apiKeyId: row.api_key_id, userId: row.user_id, user: row.caller },
          traceId: row.trace_id,
          ...(input.comment ? { comment: input.comment } : {}),
        },
      },
      stillPending,
    ),
    env.DB.prepare(
      `UPDATE approvals SET status = ?, decided_by = ?, decided_at = ?, comment = ?
       WHERE id = ? AND org_id = ? AND status = 'pending' AND expires_at > ? RETURNING id`,
    ).bind(verdict, principal.actor, now, input.comment ?? null, id, principal.orgId, now),
    // Its inbox alert is dealt with once the approval is (by this decision: not if it lost the race).
    env.DB.prepare(
      `UPDATE alerts SET status = 'resolved', updated_at = ?
       WHERE org_id = ? AND fingerprint = ? AND status IN ('open', 'acknowledged')
         AND EXISTS (SELECT 1 FROM approvals WHERE id = ? AND org_id = ? AND status = ? AND decided_at = ? AND decided_by = ?)`,
    ).bind(now, principal.orgId, `approval:${id}`, id, principal.orgId, verdict, now, principal.actor),
  ]);
  if (!decided?.results[0]) {
    throw new AppError('conflict', {
      message: 'This approval was decided or expired meanwhile',
      details: { status: 'changed' },
    });
  }
  await notifyDecided(env, principal, row, verdict, now);
  return dto(
    { ...row, status: verdict, decided_by: principal.actor, decided_at: now, comment: input.comment ?? null },
    now,
  );
}

/** `approval_decided` to the notification channels; best effort — the decision stands either way. */
async function notifyDecided(
  env: DecideEnv,
  principal: Principal,
  row: DbApproval,
  verdict: 'approved' | 'denied',
  now: number,
): Promise<void> {
  const event = approvalDecidedEvent(
    {
      id: row.id,
      orgId: principal.orgId,
      connectionId: row.connection_id,
      connectionSlug: row.connection_slug,
      tool: row.tool,
      argsHash: row.args_hash,
      verdict,
      decidedBy: principal.actor,
      traceId: row.trace_id,
    },
    now,
  );
  try {
    await sendNotifyEvents(env.NOTIFY_QUEUE, principal.orgId, [event]);
  } catch (err) {
    log('warn', 'approval decision notification not queued', { err, approvalId: row.id });
  }
}
