/**
 * What happened to a call after the gateway's decision — its `outcome` — and which rows are
 * protocol lifecycle. Both are derived from columns every row already has (action, upstream
 * status, error code, method), so no column or migration is needed, and the TypeScript and SQL
 * forms below must agree (test/workerd/upstream-outcome.test.ts runs both over the same rows in D1).
 *
 * Why a separate field: `action` is the policy's verdict (`allow`, `pass`…). An allowed call whose
 * upstream was unreachable or answered 5xx was still allowed, but it did not succeed, and a list
 * that shows only the verdict paints it green.
 */

export const AUDIT_OUTCOMES = [
  /** Forwarded, and the upstream answered below 400. */
  'ok',
  /** Forwarded, and the upstream answered 4xx (it refused the request). */
  'upstream_rejected',
  /** Forwarded, and the upstream was unreachable, redirected, or answered 5xx. */
  'upstream_error',
  /** Forwarded, and the upstream sent no response headers within `upstreamTimeoutMs`. */
  'timeout',
  /** Forwarded, and the gateway never learnt the result (flushed after the grace period). */
  'outcome_unknown',
  /** Not forwarded: the gateway refused it (policy, kill switch, rate limit, protocol error…). */
  'refused',
] as const;

export type AuditOutcomeName = (typeof AUDIT_OUTCOMES)[number];

/** The outcomes that count as the upstream failing (the connection health's error rate). */
export const FAILED_OUTCOMES: ReadonlySet<AuditOutcomeName> = new Set(['upstream_error', 'timeout']);

/** Actions under which a call is forwarded; any other action of a call row is a refusal. */
/** `approve`: a call whose approval was consumed (a held one is recorded as `approval_required`). */
const FORWARDED_ACTIONS = ['allow', 'alert', 'approve', 'pass'] as const;
const CALL_TYPES = ['tool_call', 'a2a_call', 'request'] as const;
/**
 * The upstream failed the call: unreachable, an answer too large to inspect, or one with nothing
 * the gateway relays (gateway.rewrite.ts).
 */
const UPSTREAM_ERRORS: readonly string[] = [
  'upstream_unreachable',
  'upstream_too_large',
  'upstream_invalid_answer',
];

export interface OutcomeFields {
  type: string;
  action: string;
  upstreamStatus?: number | null | undefined;
  errorCode?: string | null | undefined;
}

/** The outcome of one row; null for rows that are not calls (admin, anomaly, session, auth). */
export function auditOutcome(row: OutcomeFields): AuditOutcomeName | null {
  if (!(CALL_TYPES as readonly string[]).includes(row.type)) return null;
  const status = row.upstreamStatus ?? null;
  if (row.errorCode === 'outcome_unknown') return 'outcome_unknown';
  if (row.errorCode === 'upstream_timeout') return 'timeout';
  if (UPSTREAM_ERRORS.includes(row.errorCode ?? '') || (status !== null && status >= 500))
    return 'upstream_error';
  if (!(FORWARDED_ACTIONS as readonly string[]).includes(row.action)) return 'refused';
  if (status !== null && status >= 400) return 'upstream_rejected';
  return 'ok';
}

const list = (values: readonly string[]) => values.map((v) => `'${v}'`).join(', ');

/** auditOutcome() as an SQL expression over audit_events columns (constants only: no binds). */
export const OUTCOME_SQL = `(CASE
  WHEN type NOT IN (${list(CALL_TYPES)}) THEN NULL
  WHEN error_code = 'outcome_unknown' THEN 'outcome_unknown'
  WHEN error_code = 'upstream_timeout' THEN 'timeout'
  WHEN error_code IN (${list(UPSTREAM_ERRORS)}) OR upstream_status >= 500 THEN 'upstream_error'
  WHEN action NOT IN (${list(FORWARDED_ACTIONS)}) THEN 'refused'
  WHEN upstream_status >= 400 THEN 'upstream_rejected'
  ELSE 'ok' END)`;

/**
 * Protocol lifecycle: the handshake (`initialize`), keep-alives (`ping`), notifications
 * (`notifications/*`: initialized, cancelled, progress…) and the transport's own GET stream /
 * DELETE session rows (no method, passed). Real work — tool calls, reads, lists — is never
 * lifecycle. Lists hide these by default in the dashboard (`lifecycle=exclude`).
 */
export function isLifecycle(row: {
  type: string;
  method: string | null | undefined;
  action: string;
}): boolean {
  if (!(CALL_TYPES as readonly string[]).includes(row.type)) return false;
  const method = row.method ?? null;
  if (method === null) return row.action === 'pass';
  return method === 'initialize' || method === 'ping' || method.startsWith('notifications/');
}

/** isLifecycle() as an SQL expression (1/0, never NULL). */
export const LIFECYCLE_SQL = `(CASE
  WHEN type NOT IN (${list(CALL_TYPES)}) THEN 0
  WHEN method IS NULL THEN action = 'pass'
  ELSE method IN ('initialize', 'ping') OR substr(method, 1, 14) = 'notifications/' END)`;
