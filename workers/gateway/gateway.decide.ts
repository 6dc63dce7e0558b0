/**
 * Stage 5, the policy decision, per JSON-RPC message of a POST body.
 *
 * Governed methods (policy.methods.ts): `tools/call` (tool name), `resources/read`
 * (`resource:<uri>`), `prompts/get` (`prompt:<name>`). Everything else — lifecycle, lists,
 * notifications, responses to server requests — is not governed and passes (lists are filtered
 * on the way back, gateway.lists.ts). A governed method without a usable name is refused, never
 * forwarded: "no name" must not read as "not governed".
 *
 * deny  → not forwarded; JSON-RPC error naming the reason and the trace id.
 * alert → forwarded, and the audit row says `alert`.
 * allow → forwarded.
 * no rule matched → deny (default deny, reason "no rule matched").
 *
 * Batches: every item is decided exactly as if it had been sent alone. If any item is refused
 * the whole batch is refused — no item is ever forwarded without a decision, and forwarding
 * part of a batch would split what the client sent as one unit — and every request in it gets
 * its own error: the refused items their refusal, the others "not forwarded because item [i]
 * was refused". Every item gets its own audit row either way.
 */
import type { AuditEventInsert } from '../db/schema';
import { AppError } from '../lib/errors';
import type { Decision, EvaluationRequest } from '../policy/policy.evaluate';
import { resolveGovernedName } from '../policy/policy.methods';
import type { CallIdentity } from './gateway.identity';
import { type JsonRpcMessage, messageKind } from './gateway.jsonrpc';

export interface MessageDecision {
  message: JsonRpcMessage;
  /** The governed name (tool, `resource:…`, `prompt:…`), null for ungoverned methods. */
  tool: string | null;
  decision: Decision | null;
  /** Set when this message must not be forwarded. */
  refusal: AppError | null;
  /** True when the refusal is only because another item of its batch was refused. */
  withBatch?: boolean;
}

export function decideMessage(
  message: JsonRpcMessage,
  identity: CallIdentity,
  decide: (request: EvaluationRequest) => Decision,
): MessageDecision {
  if (messageKind(message) !== 'request') return { message, tool: null, decision: null, refusal: null };
  const governed = resolveGovernedName(message.method!, message.params);
  if (governed.kind === 'ungoverned') return { message, tool: null, decision: null, refusal: null };
  if (governed.kind === 'invalid') {
    return {
      message,
      tool: null,
      decision: null,
      refusal: new AppError('validation_failed', {
        message: governed.message,
        details: { location: 'body', path: 'params' },
      }),
    };
  }
  const decision = decide({ tool: governed.name, user: identity.user, metadata: identity.metadata });
  if (decision.action !== 'deny') return { message, tool: governed.name, decision, refusal: null };
  const reason = decision.reason ?? 'denied by policy';
  return {
    message,
    tool: governed.name,
    decision,
    refusal: new AppError('policy_denied', {
      message: `Denied by policy: ${reason} (trace ${identity.traceId})`,
      details: {
        reason,
        tool: governed.name,
        ruleIndex: decision.ruleIndex,
        policyVersion: decision.policyVersion,
      },
    }),
  };
}

/** Decides every message; in a batch with a refused item, the other items are refused too. */
export function decideAll(
  messages: readonly JsonRpcMessage[],
  identity: CallIdentity,
  decide: (request: EvaluationRequest) => Decision,
): MessageDecision[] {
  const decisions = messages.map((message) => decideMessage(message, identity, decide));
  const refused = decisions.flatMap((d, i) => (d.refusal ? [i] : []));
  if (refused.length === 0 || decisions.length === 1) return decisions;
  const which = refused.map((i) => `[${i}]`).join(', ');
  return decisions.map((d) =>
    d.refusal
      ? d
      : {
          ...d,
          withBatch: true,
          refusal: new AppError('bad_request', {
            message: `Not forwarded: batch item ${which} was refused, and a batch is forwarded only when every item is allowed. Send the other items on their own.`,
            details: { batchRefused: true, refusedItems: refused },
          }),
        },
  );
}

/** The first refusal (what a single-message reply or the guard needs to know), or null. */
export function firstRefusal(decisions: readonly MessageDecision[]): AppError | null {
  return decisions.find((d) => d.refusal)?.refusal ?? null;
}

const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;

/** W3C trace context of a 2026-07-28 request (it travels in `_meta`, not in headers). */
function metaTraceparent(message: JsonRpcMessage): string | null {
  const params = message.params as { _meta?: { traceparent?: unknown } } | undefined;
  const value = params?._meta?.traceparent;
  return typeof value === 'string' && TRACEPARENT.test(value) ? value : null;
}

/**
 * One audit row per message, all built on `base` (identity, trace id, connection, key). Rows of
 * governed messages carry the rule index and policy version of their decision; every row of a
 * POST carries the version of the policy in force (lists were filtered with it).
 */
export function auditRows(
  base: AuditEventInsert,
  decisions: readonly MessageDecision[],
  policyVersion: number | null,
  traceparentHeader: string | null,
): AuditEventInsert[] {
  return decisions.map((d, i) => {
    const traceparent =
      metaTraceparent(d.message) ??
      (traceparentHeader && TRACEPARENT.test(traceparentHeader) ? traceparentHeader : null);
    const details: Record<string, unknown> = {};
    if (d.decision?.reason) details.reason = d.decision.reason;
    if (d.refusal && d.refusal.code !== 'policy_denied') details.refusal = d.refusal.message;
    if (d.refusal && d.decision && d.refusal.code !== 'policy_denied') details.decision = d.decision.action;
    if (traceparent) details.traceparent = traceparent;
    return {
      ...base,
      id: i === 0 ? base.id : `${base.id}_${i}`,
      type: d.message.method === 'tools/call' ? 'tool_call' : 'request',
      method: d.message.method ?? (messageKind(d.message) === 'response' ? 'response' : null),
      tool: d.tool,
      action: rowAction(d),
      ruleIndex: d.decision?.ruleIndex ?? null,
      policyVersion: d.decision?.policyVersion ?? policyVersion,
      errorCode: d.refusal?.code ?? null,
      details: Object.keys(details).length > 0 ? details : null,
    };
  });
}

function rowAction(d: MessageDecision): string {
  if (d.refusal) return d.refusal.code === 'policy_denied' ? 'deny' : 'error';
  return d.decision?.action ?? 'pass';
}
