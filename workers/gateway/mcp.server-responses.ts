/**
 * The client's side of a server→client request, before the policy: a JSON-RPC response the client
 * POSTs (the answer to `sampling/createMessage`, `elicitation/create`, `roots/list`, `ping`…) and a
 * `notifications/cancelled` naming a server request. The response's id must be one the gateway
 * minted for this connection and session (mcp.server-ids.ts, minted by mcp.server-requests.ts);
 * it is then decided as `response:<method>` (gateway.decide.ts) and forwarded with the server's
 * original id. Any other id — a response nobody asked for, forged, altered, another session's,
 * connection's or organization's — is refused, never forwarded. Pure.
 *
 * One answer per id: a verified id older than its lifetime is refused here (`expired`), and the
 * ids a body answers or cancels (answeredIds) ride on the call's admit to the connection's guard,
 * which refuses an id already answered or cancelled (`answered`) — or any, fail closed, when its
 * record of answered ids is full (`full`) — and otherwise records them (durable-objects/answered.ids.ts).
 * Every refusal is the same `unsolicited_response`, its reason in the row's details.
 */
import type { AdmitRequest } from '../../durable-objects/guard.contract';
import { ANSWER_REFUSALS } from '../../durable-objects/guard.refusals';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import { governedNameFault } from '../policy/policy.methods';
import type { JsonRpcMessage } from './gateway.jsonrpc';
import { type AnsweredId, answerOf, type IdBinding, looksMinted, verifyServerId } from './mcp.server-ids';

/** The governed name of a client response is this prefix and the server request's method. */
export const RESPONSE_PREFIX = 'response:';

/** What verifies a minted id for this call: its keys (current first) and its binding. */
export interface ServerIdVerifier {
  keys: readonly Uint8Array[];
  binding: IdBinding;
}

/** `restored`: the message to forward, with the server's original id. */
export type ResponseCheck =
  | { kind: 'answers'; name: string; restored: JsonRpcMessage }
  | { kind: 'refused'; error: AppError };

/** Whether a client response answers a server request of this session, and which. */
export function checkResponse(message: JsonRpcMessage, verifier: ServerIdVerifier | null): ResponseCheck {
  const check = verifier
    ? verifyServerId(verifier.keys, verifier.binding, message.id)
    : ({ ok: false, reason: looksMinted(message.id) ? 'invalid' : 'unsolicited' } as const);
  if (!check.ok) return { kind: 'refused', error: refusedResponse(check.reason, 'id') };
  const fault = governedNameFault(check.request.method);
  if (fault) {
    return {
      kind: 'refused',
      error: new AppError('validation_failed', {
        message: `The server request this response answers has a method that ${fault}`,
        details: { location: 'body', path: 'id' },
      }),
    };
  }
  return {
    kind: 'answers',
    name: RESPONSE_PREFIX + check.request.method,
    restored: { ...message, id: check.request.id },
  };
}

/**
 * A client's `notifications/cancelled` whose `params.requestId` is a minted id: the original id
 * restored, or the notification refused when the id does not verify. Any other requestId (the
 * client's own requests, which is what MCP says a cancellation names) passes unchanged: null.
 */
export function restoreCancelled(
  message: JsonRpcMessage,
  verifier: ServerIdVerifier | null,
): { restored: JsonRpcMessage } | { error: AppError } | null {
  const params = message.params;
  if (!isRecord(params) || !looksMinted(params.requestId)) return null;
  const check = verifier ? verifyServerId(verifier.keys, verifier.binding, params.requestId) : null;
  if (!check?.ok) return { error: refusedResponse(check?.reason ?? 'invalid', 'params.requestId') };
  return { restored: { ...message, params: { ...params, requestId: check.request.id } } };
}

/**
 * The minted ids a body answers (its responses) or cancels (`notifications/cancelled`), in order,
 * repeats kept (a batch answering one id twice is refused by the guard). Read only from a body whose
 * every message was accepted (decideMessage verified each minted id), so each is a current one.
 */
export function answeredIds(units: readonly JsonRpcMessage[] | null): AnsweredId[] {
  const answered: AnsweredId[] = [];
  for (const unit of units ?? []) {
    const response = unit.method === undefined;
    if (!response && unit.method !== 'notifications/cancelled') continue;
    const answer = answerOf(response ? unit.id : isRecord(unit.params) ? unit.params.requestId : undefined);
    if (answer) answered.push(answer);
  }
  return answered;
}

const PREFIX = 'Not forwarded: ';

/** A body's admit `tasks` (mcp.task.access.ts) with the server requests it answers added. */
export function withAnswers(
  tasks: AdmitRequest['tasks'],
  units: readonly JsonRpcMessage[] | null,
): AdmitRequest['tasks'] {
  const answers = answeredIds(units);
  return answers.length > 0 ? { protocol: 'mcp', ...tasks, answers } : tasks;
}

/** Why a response's id answers nothing: a bad id (above), or the guard's verdict (answered, full). */
export type RefusedReason = 'unsolicited' | 'invalid' | 'expired' | 'answered' | 'full';

const WHY: Record<RefusedReason, string> = {
  unsolicited:
    'it answers no request the server sent through the gateway (its id was not issued by the gateway)',
  invalid:
    'its id was not issued by the gateway for this connection and session (altered, expired key, or another session’s)',
  expired: 'its id expired (a server request can be answered for an hour after the gateway relayed it)',
  // The guard's verdicts: the row says it in the guard's words (durable-objects/guard.refusals.ts).
  answered: ANSWER_REFUSALS.answered.slice(PREFIX.length),
  full: ANSWER_REFUSALS.full.slice(PREFIX.length),
};

export function refusedResponse(reason: RefusedReason, path: string): AppError {
  const why = WHY[reason];
  return new AppError('unsolicited_response', {
    message: `${PREFIX}${why}`,
    details: { location: 'body', path, reason },
  });
}
