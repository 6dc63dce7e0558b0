/**
 * Content inspection of what an MCP server sends the client on its own, inside an answer (an SSE
 * event, a batch item, a JSON body) or on the GET stream (docs/detections.md): its requests
 * (`sampling/createMessage` — messages for the client's model —, `elicitation/create` — a message
 * shown to the user —, `roots/list`, `ping`) and its notifications (`notifications/message` log
 * data, `notifications/progress` messages…). Their `params` are upstream text on its way to the
 * caller as a result is, so they are scanned the same way: `where: result`, every string (and key of
 * 8+ characters) of `params`, found at `$.params…`, with the engine's limits and finding caps.
 *
 *   block   the rest of the answer is refused (the AppError is thrown: a stream ends at this event
 *           with the pending request's `content_blocked`, -32014; a JSON answer is refused whole).
 *           A server message has no id of the caller's to answer in its place, and dropping it would
 *           leave a server request unanswered with no word to the caller — and would not remove it
 *           from a single JSON body, which the rewriter re-emits as it came when its one message is
 *           dropped (gateway.rewrite.ts).
 *   redact  with `redactResults` on, the values are masked in `params` (the method, the id and the
 *           rest of the message kept); a value that cannot be masked whole refuses as above
 *           (`inspection_unmaskable`).
 *   alert / log  recorded only.
 *
 * Pure; the message is the one the rewriter parsed for the stages.
 */
import type { StageCall } from '../gateway/gateway.stages';
import { blockedError, blockingFinding, recordFindings, under } from './inspection.findings';
import { type RedactionSession, redactJson } from './inspection.redact';
import { maskingHooks } from './inspection.redact.complete';

const AT = '$.params';

/**
 * Scans the params of a server request or notification; returns the message with its values masked,
 * or undefined to send it as it came. Throws the refusal of a `block` finding.
 */
export function inspectServerMessage(
  call: StageCall,
  message: Record<string, unknown>,
  unit: number,
  session: RedactionSession,
): unknown {
  const inspection = call.inspection;
  if (!inspection || message.params === undefined) return undefined;
  const found = inspection.engine.scanJson(message.params, 'result');
  if (found.length === 0) return undefined;
  call.findings.push(...recordFindings(inspection, found, 'result', unit, AT));
  const block = blockingFinding(found);
  if (block) throw blockedError(inspection.engine, block, 'result', under(AT, block.location));
  const masked = inspection.redactResults ? found.filter((f) => f.action === 'redact') : [];
  if (masked.length === 0) return undefined;
  // An unmaskable value throws inspection_unmaskable: refused as a block is.
  const hooks = maskingHooks(inspection.engine, 'result', AT);
  return { ...message, params: redactJson(message.params, masked, session, hooks) };
}
