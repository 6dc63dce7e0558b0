/**
 * Stage 5, the policy decision, per JSON-RPC message of a POST body.
 *
 * Governed methods (policy.methods.ts): `tools/call` (tool name), `resources/read`,
 * `resources/subscribe` (`resource:<uri>`), `prompts/get` (`prompt:<name>`), `completion/complete`
 * (its ref), and the URIs of a `subscriptions/listen`. They are decided whether the message is a
 * request or a notification (no `id`): the upstream executes both. The known lifecycle, list and
 * task methods pass ungoverned (lists are filtered on the way back, gateway.lists.ts). Any other
 * method — including a near-spelling such as `Tools/Call` or `tools/call ` — is refused (-32601),
 * never forwarded. A governed method without a usable name is refused too: "no name" must not
 * read as "not governed".
 *
 * The client's responses to server requests are decided as `response:<method>` (the method of
 * the server request they answer, `response:sampling/createMessage`) — but only a response whose
 * id the gateway minted for this connection and session when it relayed the request
 * (mcp.server-requests.ts); any other is refused (`unsolicited_response`), and an accepted one is
 * forwarded with the server's original id (mcp.server-responses.ts). A `notifications/cancelled`
 * naming a minted id gets the original id back the same way, or is refused.
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
import { type CallIntegrity, pinnedAnnotations } from '../integrity/integrity.types';
import { auditName, echoText } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { batchRowId } from '../lib/ids';
import { isRecord } from '../lib/values';
import {
  type CompiledPolicy,
  type Decision,
  type EvaluationRequest,
  evaluate,
} from '../policy/policy.evaluate';
import {
  classifyMethod,
  governedNameFault,
  RESOURCE_PREFIX,
  resolveGovernedName,
} from '../policy/policy.methods';
import { auditMethod } from '../shared/audit.method';
import { DEFAULT_MAX_BATCH_MESSAGES } from '../shared/connection.settings';
import type { CallIdentity } from './gateway.identity';
import { type JsonRpcMessage, messageKind } from './gateway.jsonrpc';
import type { UnitDecision } from './gateway.stages';
import { checkResponse, restoreCancelled, type ServerIdVerifier } from './mcp.server-responses';

/** A JSON-RPC message with its decision: MCP's governed unit (gateway.stages.ts). */
export type MessageDecision = UnitDecision<JsonRpcMessage>;

export function decideMessage(
  message: JsonRpcMessage,
  identity: CallIdentity,
  decide: (request: EvaluationRequest) => Decision,
  serverIds: ServerIdVerifier | null = null,
): MessageDecision {
  // Responses (the client answering a server's sampling/elicitation request) carry no method.
  if (messageKind(message) === 'response') return decideResponse(message, identity, decide, serverIds);
  // A notification is decided exactly like a request: a JSON-RPC server runs a `tools/call`
  // without an id all the same, it only does not answer.
  const method = message.method!;
  const known = classifyMethod(method);
  if (known === 'unknown') return refused(message, null, null, unknownMethod(method));
  if (method === LISTEN_METHOD) return decideListen(message, identity, decide);
  if (method === CANCELLED_METHOD) {
    const cancelled = restoreCancelled(message, serverIds);
    if (cancelled && 'error' in cancelled) return refused(message, null, null, cancelled.error);
    if (cancelled) return { unit: cancelled.restored, tool: null, decision: null, refusal: null };
  }
  const governed = resolveGovernedName(method, message.params);
  if (governed.kind === 'ungoverned') return { unit: message, tool: null, decision: null, refusal: null };
  if (governed.kind === 'invalid') {
    return refused(
      message,
      null,
      null,
      new AppError('validation_failed', {
        message: governed.message,
        details: { location: 'body', path: 'params' },
      }),
    );
  }
  const decision = decide({
    tool: governed.name,
    user: identity.user,
    teams: identity.teams,
    metadata: identity.metadata,
    args: callArguments(message),
  });
  if (decision.action !== 'deny') return { unit: message, tool: governed.name, decision, refusal: null };
  return refused(message, governed.name, decision, policyDenied(governed.name, decision, identity));
}

const CANCELLED_METHOD = 'notifications/cancelled';

/**
 * A client response: refused unless its id is one the gateway minted for this connection and
 * session, then decided like any governed name, `response:<method>`. Its unit becomes the message
 * to forward, with the server's original id. `args.*` conditions read nothing (no arguments).
 */
function decideResponse(
  message: JsonRpcMessage,
  identity: CallIdentity,
  decide: (request: EvaluationRequest) => Decision,
  serverIds: ServerIdVerifier | null,
): MessageDecision {
  const answered = checkResponse(message, serverIds);
  if (answered.kind === 'refused') return refused(message, null, null, answered.error);
  const decision = decide({
    tool: answered.name,
    user: identity.user,
    teams: identity.teams,
    metadata: identity.metadata,
  });
  if (decision.action === 'approve') {
    // A rule matching by glob (`*`, `resp*`): `approve` on a response is refused at save time.
    const denied = { ...decision, action: 'deny' as const, reason: APPROVE_ON_RESPONSE };
    return refused(message, answered.name, denied, policyDenied(answered.name, denied, identity));
  }
  if (decision.action === 'deny')
    return refused(message, answered.name, decision, policyDenied(answered.name, decision, identity));
  return { unit: answered.restored, tool: answered.name, decision, refusal: null };
}

/**
 * Why a response the policy says `approve` for is refused: an approval holds a call until a person
 * allows it and the client retries it, but no MCP client re-sends an answer (the SDKs send it once
 * and report the HTTP error), the server gives up on its request long before a person decides (a
 * minute by default), and the approval would bind no content (a response has no arguments).
 */
export const APPROVE_ON_RESPONSE =
  'approve does not apply to a response to a server request (it cannot be held and retried); allow, alert or deny response:<method>';

/**
 * What `args.*` conditions read: a `tools/call`'s `params.arguments` (a `prompts/get`'s too);
 * anything else, or arguments that are not an object, reads as no arguments (every `args.*` field missing).
 */
function callArguments(message: JsonRpcMessage): Readonly<Record<string, unknown>> | null {
  const params = message.params as { arguments?: unknown } | undefined;
  const args = params?.arguments;
  return isRecord(args) ? args : null;
}

function refused(
  message: JsonRpcMessage,
  tool: string | null,
  decision: Decision | null,
  refusal: AppError,
): MessageDecision {
  return { unit: message, tool, decision, refusal };
}

function policyDenied(name: string, decision: Decision, identity: CallIdentity): AppError {
  const reason = decision.reason ?? 'denied by policy';
  return new AppError('policy_denied', {
    message: `Denied by policy: ${reason} (trace ${identity.traceId})`,
    details: {
      reason,
      // The governed name, as the audit row keeps it (lib/echo.safe.ts auditName).
      tool: auditName(name),
      ruleIndex: decision.ruleIndex,
      policyVersion: decision.policyVersion,
    },
  });
}

/**
 * Caller text echoed in an error is cut short — a method name may be a megabyte long — and hidden
 * when it looks like a credential (lib/echo.safe.ts): an unknown method is whatever the caller put
 * there. A known method never reaches here.
 */
const SHOWN_METHOD_CHARS = 100;

function unknownMethod(method: string): AppError {
  const shown = echoText(method, SHOWN_METHOD_CHARS);
  return new AppError('method_not_found', {
    message: `Method not found: ${JSON.stringify(shown)} is not an MCP method this gateway forwards (names are exact and case-sensitive)`,
    details: { location: 'body', path: 'method', method: shown },
  });
}

/**
 * 2026-07-28 `subscriptions/listen` replaces `resources/subscribe`: each URI in
 * `params.notifications.resourceSubscriptions` is decided as `resource:<uri>`, like a
 * subscription, and one denied URI refuses the whole request; a URI holding a hidden character or
 * over 512 bytes refuses it before any decision (governedNameFault), as resources/subscribe's does.
 * Without URIs (list-change notifications only) there is nothing to decide.
 *
 * At most MAX_LISTEN_URIS URIs: each is a policy decision, and a 1 MiB body of short URIs would be
 * some 200,000 of them — seconds of one isolate's time for one request, which other callers' calls
 * would wait behind. The bound is the batch's (DEFAULT_MAX_BATCH_MESSAGES): as many decisions as
 * one request may ask for otherwise.
 */
const LISTEN_METHOD = 'subscriptions/listen';
export const MAX_LISTEN_URIS = DEFAULT_MAX_BATCH_MESSAGES;

function decideListen(
  message: JsonRpcMessage,
  identity: CallIdentity,
  decide: (request: EvaluationRequest) => Decision,
): MessageDecision {
  const params = message.params as { notifications?: { resourceSubscriptions?: unknown } } | undefined;
  const uris = params?.notifications?.resourceSubscriptions;
  if (uris === undefined) return { unit: message, tool: null, decision: null, refusal: null };
  if (!Array.isArray(uris) || uris.some((uri) => typeof uri !== 'string' || uri === '')) {
    return refused(
      message,
      null,
      null,
      new AppError('validation_failed', {
        message: `${LISTEN_METHOD} requires params.notifications.resourceSubscriptions to be non-empty strings`,
        details: { location: 'body', path: 'params.notifications.resourceSubscriptions' },
      }),
    );
  }
  if (uris.length > MAX_LISTEN_URIS) {
    return refused(
      message,
      null,
      null,
      new AppError('validation_failed', {
        message: `${LISTEN_METHOD} names ${uris.length} resources; at most ${MAX_LISTEN_URIS} per request`,
        details: {
          location: 'body',
          path: 'params.notifications.resourceSubscriptions',
          max: MAX_LISTEN_URIS,
        },
      }),
    );
  }
  // Each URI is a governed name, judged as resources/subscribe's is (governedNameFault).
  for (const [i, uri] of (uris as string[]).entries()) {
    const fault = governedNameFault(uri);
    if (!fault) continue;
    return refused(
      message,
      null,
      null,
      new AppError('validation_failed', {
        message: `${LISTEN_METHOD} params.notifications.resourceSubscriptions[${i}] ${fault}: no tool, prompt or resource is named like that`,
        details: { location: 'body', path: 'params.notifications.resourceSubscriptions' },
      }),
    );
  }
  let first: MessageDecision = { unit: message, tool: null, decision: null, refusal: null };
  for (const uri of uris as string[]) {
    const name = RESOURCE_PREFIX + uri;
    const decision = decide({
      tool: name,
      user: identity.user,
      teams: identity.teams,
      metadata: identity.metadata,
    });
    if (decision.action === 'deny')
      return refused(message, name, decision, policyDenied(name, decision, identity));
    if (first.decision === null) first = { unit: message, tool: name, decision, refusal: null };
  }
  return first;
}

/** One decision per message, each exactly as if it had been sent alone. */
export function decideEach(
  messages: readonly JsonRpcMessage[],
  identity: CallIdentity,
  policy: CompiledPolicy,
  integrity?: CallIntegrity | null,
  serverIds: ServerIdVerifier | null = null,
): MessageDecision[] {
  // `annotations.*` conditions read the tool's pinned annotations from the integrity state the
  // core already loaded (KV, cached): no I/O here.
  const decide = integrity
    ? (req: EvaluationRequest) =>
        evaluate(policy, { ...req, annotations: pinnedAnnotations(integrity, req.tool) })
    : (req: EvaluationRequest) => evaluate(policy, req);
  return messages.map((message) => decideMessage(message, identity, decide, serverIds));
}

/**
 * In a batch with a refused item, the other items are refused too (after the request stages, so a
 * stage's refusal counts as well). A single message is returned as it is.
 */
export function refuseBatchWhole(decisions: MessageDecision[]): MessageDecision[] {
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
      metaTraceparent(d.unit) ??
      (traceparentHeader && TRACEPARENT.test(traceparentHeader) ? traceparentHeader : null);
    const details: Record<string, unknown> = {};
    if (d.decision?.reason) details.reason = d.decision.reason;
    if (d.refusal && d.refusal.code !== 'policy_denied') details.refusal = d.refusal.message;
    if (d.refusal && d.decision && d.refusal.code !== 'policy_denied') details.decision = d.decision.action;
    if (traceparent) details.traceparent = traceparent;
    if (d.recordArgs) recordArgs(details, d.unit);
    return {
      ...base,
      id: batchRowId(base.id, i),
      type: d.unit.method === 'tools/call' ? 'tool_call' : 'request',
      method: auditMethod(d.unit.method) ?? (messageKind(d.unit) === 'response' ? 'response' : null),
      tool: d.tool,
      action: rowAction(d),
      ruleIndex: d.decision?.ruleIndex ?? null,
      policyVersion: d.decision?.policyVersion ?? policyVersion,
      errorCode: d.refusal?.code ?? null,
      details: Object.keys(details).length > 0 ? details : null,
    };
  });
}

/** Largest arguments (JSON characters) an audit row keeps; larger ones are noted, not kept. */
export const MAX_RECORDED_ARGS_CHARS = 8192;

/** A `logContent` connection's call arguments in its audit row (what a replay evaluates `args.*` on). */
function recordArgs(details: Record<string, unknown>, message: JsonRpcMessage): void {
  const args = callArguments(message);
  if (args === null) return;
  if (JSON.stringify(args).length <= MAX_RECORDED_ARGS_CHARS) details.args = args;
  else details.argsOmitted = 'too_large';
}

/** Refusals recorded as `deny`: the gateway decided against the call (the others are errors). */
const DENIALS: ReadonlySet<string> = new Set(['policy_denied', 'content_blocked', 'tool_not_approved']);

function rowAction(d: MessageDecision): string {
  if (d.refusal?.code === 'approval_required') return 'approval_required';
  if (d.refusal) return DENIALS.has(d.refusal.code) ? 'deny' : 'error';
  return d.decision?.action ?? 'pass';
}

/** The one row of a GET (the server's stream) or DELETE (end of session): nothing was decided. */
export function requestRows(
  base: AuditEventInsert,
  httpMethod: string,
  resumed: boolean,
): AuditEventInsert[] {
  return [{ ...base, action: 'pass', details: { http: httpMethod, ...(resumed ? { resumed } : {}) } }];
}

/** The governed name of a message, for the row of a refusal made before any decision. */
export function governedNameOrNull(method: string, params: unknown): string | null {
  const governed = resolveGovernedName(method, params);
  return governed.kind === 'governed' ? governed.name : null;
}
