/**
 * Approvals bound to one exact call (issue 22, docs/policies.md#approvals) — the gateway's step.
 *
 * A unit whose policy decision is `approve` is held: not forwarded, answered with an
 * `approval_required` error naming an approval id and its dashboard URL, audited as
 * `approval_required`, announced with an `approval_requested` live event and an alert. Once an
 * approver has approved it, the identical call — same caller (API key, member, X-Igris-User),
 * connection, tool and SHA-256 of the canonical arguments — passes exactly once (the approval is
 * consumed atomically); a changed argument is another call and needs its own approval; an expired
 * approval passes nothing (the call asks anew).
 *
 * Runs only when some unit's decision is `approve` (`needsApproval`, a scan of the decisions), so
 * calls under allow/deny/alert rules never touch D1 here. The call core runs it after the request
 * stages and before `settle`, so a held item refuses its whole batch like any refusal.
 */
import type { Context } from 'hono';
import type { AppEnv, Principal } from '../app.types';
import { publishEvent } from '../events/events.publish';
import type { ResolvedConnection } from '../gateway/gateway.connection';
import type { CallIdentity } from '../gateway/gateway.identity';
import type { Finding, UnitDecision } from '../gateway/gateway.stages';
import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { randomId } from '../lib/ids';
import { log } from '../lib/log';
import {
  APPROVALS_PENDING_PER_ORG,
  DEFAULT_APPROVAL_EXPIRY_SECONDS,
  DEFAULT_APPROVALS_PENDING_PER_CALLER,
} from '../shared/connection.settings';
import { approvalContent, approvalMethod, approvalName, bindingHash, canonicalJson } from './approval.hash';
import {
  approvalAlertStatement,
  consumeApproval,
  type HeldCall,
  notifyApprovalRequested,
  pendingApproval,
} from './approval.store';

/** Arguments larger than this are not stored for the approver to read (their hash still binds). */
const MAX_SHOWN_ARGS_CHARS = 16_384;

/** What the gate reads of the call core's state. */
export interface ApprovalCallState {
  traceId: string;
  principal: Principal | null;
  identity: CallIdentity | null;
  connection: ResolvedConnection | null;
}

/**
 * Approvals consumed per request, for a call that is prepared twice (a `stale` or taint verdict):
 * keyed by the unit's batch index and its binding, so only the unit that spent an approval keeps it.
 * Keyed by binding alone, a batch of N identical calls would run N times on one approval.
 */
const consumedBy = new WeakMap<Request, Map<string, string>>();

/** True when some unit awaits the gate: decided `approve` and not already refused. */
export function needsApproval(decisions: readonly UnitDecision<unknown>[]): boolean {
  for (const d of decisions) if (d.decision?.action === 'approve' && !d.refusal) return true;
  return false;
}

/** The dashboard page of an approval: under PUBLIC_BASE_URL, else the request's own origin. */
export function approvalUrl(env: Pick<Env, 'PUBLIC_BASE_URL'>, requestUrl: string, id: string): string {
  const base = (env.PUBLIC_BASE_URL || new URL(requestUrl).origin).replace(/\/+$/, '');
  return `${base}/approvals/${id}`;
}

export async function holdForApproval<U>(
  c: Context<AppEnv>,
  protocol: string,
  state: ApprovalCallState,
  decisions: UnitDecision<U>[],
): Promise<UnitDecision<U>[]> {
  const { principal, identity, connection } = state;
  // A batch already refused elsewhere is refused whole: no approval is asked for or spent on it.
  if (!principal || !identity || !connection || decisions.some((d) => d.refusal)) return decisions;
  const out: UnitDecision<U>[] = [];
  for (const [index, d] of decisions.entries()) {
    if (d.decision?.action !== 'approve') {
      out.push(d);
      continue;
    }
    try {
      out.push(
        await gateUnit(c, protocol, { traceId: state.traceId, principal, identity, connection }, d, index),
      );
    } catch (err) {
      // Fail closed: a call that needs an approval never passes because the check could not run.
      log('error', 'approval check failed', { err, connectionId: connection.id });
      throw new AppError('policy_unavailable', { internal: err });
    }
  }
  return out;
}

/**
 * Session taint under `onTaint: "approve"` (docs/policies.md#session-taint-toxic-flows): the guard
 * answered `tainted` with `approval` and recorded nothing. Each unit whose rule checks taint is
 * gated like an `approve` rule's unit — its exact call's approval consumed (the unit then goes to
 * the guard again with its taint check waived: `cleanOf` cleared on its decision), or a pending
 * approval that names the taint source (`held`) and the call refused with `approval_required`.
 */
export async function holdTaintedForApproval<U>(
  c: Context<AppEnv>,
  protocol: string,
  state: ApprovalCallState,
  decisions: UnitDecision<U>[],
  held: readonly string[],
  /** The rule the guard's taint verdict names: the session gate that held, or the cleanOf rule. */
  heldBy: number | null = null,
): Promise<UnitDecision<U>[]> {
  const { principal, identity, connection } = state;
  if (!principal || !identity || !connection) throw new AppError('policy_unavailable');
  // A batch refused elsewhere is refused whole: no approval is asked for or spent on it.
  if (decisions.some((d) => d.refusal)) return decisions;
  const out: UnitDecision<U>[] = [];
  const why = `session taint: this session has touched ${held.join(' + ')}`;
  for (const [index, d] of decisions.entries()) {
    const decision = d.decision;
    // `onTaint: "approve"` on the matched rule, or an `approve` rule with session conditions (a gate).
    const byCleanOf = decision?.cleanOf?.length && decision.onTaint === 'approve';
    if (!decision || d.refusal || !(byCleanOf || decision.sessionGates?.some((g) => g.approve))) {
      out.push(d);
      continue;
    }
    // The approval names the rule that holds the call, not the fallback rule the unit matched
    // otherwise (whose reason is not this hold's either): the gate the guard applied, else the
    // unit's own cleanOf rule, else (a batch held by another unit's gate) its first approve gate.
    const gates = decision.sessionGates?.filter((g) => g.approve) ?? [];
    const gate = gates.find((g) => g.ruleIndex === heldBy) ?? (byCleanOf ? undefined : gates[0]);
    const unit = {
      ...d,
      decision: gate
        ? { ...decision, ruleIndex: gate.ruleIndex, reason: why }
        : { ...decision, reason: decision.reason ?? why },
    };
    let gated: UnitDecision<U>;
    try {
      gated = await gateUnit(
        c,
        protocol,
        { traceId: state.traceId, principal, identity, connection },
        unit,
        index,
        [...held],
      );
    } catch (err) {
      log('error', 'approval check failed', { err, connectionId: connection.id });
      throw new AppError('policy_unavailable', { internal: err });
    }
    // Approved: this exact call passes its taint check once (its labels are still added).
    const sessionGates = decision.sessionGates?.filter((g) => !g.approve) ?? null;
    out.push(gated.refusal ? gated : { ...gated, decision: { ...decision, cleanOf: null, sessionGates } });
  }
  return out;
}

async function gateUnit<U>(
  c: Context<AppEnv>,
  protocol: string,
  state: { traceId: string; principal: Principal; identity: CallIdentity; connection: ResolvedConnection },
  d: UnitDecision<U>,
  index: number,
  /** Session taint's labels when the hold is for a tainted session (recorded on the approval). */
  taint: string[] | null = null,
): Promise<UnitDecision<U>> {
  const { principal, identity, connection } = state;
  // An LLM request without a model (a models list) was decided by its endpoint: bind that.
  const tool = d.tool ?? approvalName(protocol, d.unit);
  const now = Date.now();
  const canonical = canonicalJson(await approvalContent(protocol, d.unit));
  const argsHash = await sha256Hex(canonical);
  const caller = {
    connectionId: connection.id,
    apiKeyId: principal.apiKeyId,
    userId: principal.userId,
    user: identity.user,
  };
  const binding = await bindingHash(caller, tool, argsHash, approvalMethod(protocol, d.unit));
  const db = c.env.DB;

  // A call prepared again (the guard answered `stale`) keeps the approval this same unit already
  // consumed; another unit of the batch with the same binding is held as if none existed.
  const spent = consumedBy.get(c.req.raw) ?? new Map<string, string>();
  const unitKey = `${index}:${binding}`;
  const already = spent.get(unitKey);
  const found = already
    ? ({ kind: 'used', id: already } as const)
    : await consumeApproval(db, connection.orgId, binding, now);
  if (found.kind === 'used') {
    spent.set(unitKey, found.id);
    consumedBy.set(c.req.raw, spent);
    return withFinding(d, {
      stage: 'approval',
      kind: 'approval_used',
      severity: 'info',
      unit: index,
      detail: { approvalId: found.id },
    });
  }
  if (found.kind === 'denied') {
    return {
      ...withFinding(d, {
        stage: 'approval',
        kind: 'approval_denied',
        severity: 'info',
        unit: index,
        detail: { approvalId: found.id },
      }),
      refusal: new AppError('policy_denied', {
        message: `Denied: an approver refused this exact call (approval ${found.id}, trace ${state.traceId})`,
        details: {
          reason: 'approval denied',
          approvalId: found.id,
          tool,
          ruleIndex: d.decision?.ruleIndex ?? null,
        },
      }),
    };
  }

  const held: HeldCall = {
    orgId: connection.orgId,
    connectionId: connection.id,
    connectionSlug: connection.slug,
    protocol,
    apiKeyId: principal.apiKeyId,
    userId: principal.userId,
    caller: identity.user,
    tool,
    argsHash,
    binding,
    args: canonical.length <= MAX_SHOWN_ARGS_CHARS ? canonical : null,
    ruleIndex: d.decision?.ruleIndex ?? null,
    reason: d.decision?.reason ?? null,
    taint,
    traceId: state.traceId,
  };
  const settings = connection.settings.approvals;
  const expirySeconds = settings?.expirySeconds ?? DEFAULT_APPROVAL_EXPIRY_SECONDS;
  const approval = await pendingApproval(db, held, now, now + expirySeconds * 1000, {
    perCaller: settings?.maxPendingPerCaller ?? DEFAULT_APPROVALS_PENDING_PER_CALLER,
    perOrg: APPROVALS_PENDING_PER_ORG,
  });
  if (approval.kind === 'limit') return overLimit(d, index, tool, approval, state.traceId);
  const url = approvalUrl(c.env, c.req.url, approval.id);
  if (approval.created) announce(c, held, { ...approval, url }, now);
  const expiresAt = new Date(approval.expiresAt).toISOString();
  const why = d.decision?.reason ? `${d.decision.reason}: ` : '';
  return {
    ...withFinding(d, {
      stage: 'approval',
      kind: 'approval_required',
      severity: 'medium',
      unit: index,
      detail: { approvalId: approval.id, argsHash, ...(taint ? { taint } : {}) },
    }),
    refusal: new AppError('approval_required', {
      message: `Approval required: ${why}an approver must allow this exact call at ${url}; retry the identical call once approved (approval ${approval.id}, expires ${expiresAt}, trace ${state.traceId})`,
      details: {
        approvalId: approval.id,
        approvalUrl: url,
        tool,
        argsHash,
        expiresAt,
        ruleIndex: d.decision?.ruleIndex ?? null,
        ...(taint ? { taint } : {}),
      },
    }),
  };
}

/** A hold refused because too many approvals already wait: nothing created, nothing announced. */
function overLimit<U>(
  d: UnitDecision<U>,
  index: number,
  tool: string,
  limit: { scope: 'caller' | 'organization'; limit: number },
  traceId: string,
): UnitDecision<U> {
  const who = limit.scope === 'caller' ? 'this caller has, on this connection,' : 'this organization has';
  return {
    ...withFinding(d, {
      stage: 'approval',
      kind: 'approval_limit',
      severity: 'medium',
      unit: index,
      detail: { ...limit },
    }),
    refusal: new AppError('approvals_pending_limit', {
      message: `Too many pending approvals: ${who} ${limit.limit} approvals awaiting a decision; this call was not held. Retry once some are decided or expire (trace ${traceId})`,
      details: { scope: limit.scope, limit: limit.limit, tool, ruleIndex: d.decision?.ruleIndex ?? null },
    }),
  };
}

function withFinding<U>(d: UnitDecision<U>, finding: Finding): UnitDecision<U> {
  return { ...d, findings: [...(d.findings ?? []), finding] };
}

/** A new approval: the live event and the inbox alert, off the hot path. */
function announce(
  c: Context<AppEnv>,
  held: HeldCall,
  approval: { id: string; url: string; expiresAt: number },
  now: number,
): void {
  publishEvent(c.env, c.executionCtx, held.orgId, {
    type: 'approval_requested',
    serverId: held.connectionId,
    slug: held.connectionSlug,
    approvalId: approval.id,
    approvalUrl: approval.url,
    toolName: held.tool,
    argsHash: held.argsHash,
    user: held.caller,
    apiKeyId: held.apiKeyId,
    traceId: held.traceId,
    expiresAt: new Date(approval.expiresAt).toISOString(),
    timestamp: new Date(now).toISOString(),
  });
  const alertId = randomId('alt');
  c.executionCtx.waitUntil(
    approvalAlertStatement(c.env.DB, held, approval, now, alertId)
      .run()
      .then(() => undefined)
      .catch((err: unknown) => log('warn', 'approval alert not written', { err, approvalId: approval.id })),
  );
  // Slack / webhook channels routed to `approval_requested` (workers/notify/).
  c.executionCtx.waitUntil(
    notifyApprovalRequested(c.env.NOTIFY_QUEUE, held, approval, alertId, now).catch((err: unknown) =>
      log('warn', 'approval notification not queued', { err, approvalId: approval.id }),
    ),
  );
}
