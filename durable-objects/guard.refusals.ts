/**
 * How a ConnectionGuard writes its refusal on a call's audit rows (connection-guard.do.ts admit):
 * one rewrite per refusing verdict — action, error code and why — so a row says what refused it.
 * The precedence is the admit's (guard.contract.ts AdmitResult): a kill switch, then session taint,
 * then the verdict the guard reached. An admitted call's rows are left as they are.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { refuseRow as refuse } from '../workers/shared/audit.row';
import { modelsRefusalReason } from './batch.file-models';
import type { AdmitResult } from './guard.contract';
import type { KillRecord } from './kill.match';
import { objectOfKey } from './llm.objects';

export function refuseByVerdict(
  row: AuditEventInsert,
  result: AdmitResult,
  kill: KillRecord | null | undefined,
  held: readonly string[] | null,
): void {
  if (kill) refuse(row, 'killed', 'session_suspended', { killSwitchId: kill.id, scope: kill.scope });
  else if (held) refuse(row, 'deny', 'policy_denied', { reason: 'session taint', taint: held });
  else if (result.verdict === 'rate_limited') {
    const { verdict: _, sessionId: __, ...figures } = result;
    refuse(row, 'rate_limited', 'rate_limited', figures);
  } else if (result.verdict === 'task_unknown')
    refuse(row, 'deny', 'task_not_found', { reason: 'task_access' });
  else if (result.verdict === 'response_unknown') {
    const kind = result.key === undefined ? 'response' : objectOfKey(result.key).kind;
    if (kind === 'response') refuse(row, 'deny', 'response_not_found', { reason: 'response_access' });
    else refuse(row, 'deny', 'object_not_found', { reason: 'object_access', object: kind });
  } else if (result.verdict === 'models_refused')
    refuse(row, 'deny', 'policy_denied', {
      reason: modelsRefusalReason(result),
      object: 'file',
      file: objectOfKey(result.key).id,
      model: result.model ?? null,
    });
  else if (result.verdict === 'context_unknown')
    refuse(row, 'deny', 'context_not_found', { reason: 'context_access' });
  else if (result.verdict === 'response_refused')
    // As the gateway records an unsolicited response (workers/gateway/mcp.server-responses.ts).
    refuse(row, 'error', 'unsolicited_response', {
      reason: result.reason,
      refusal: ANSWER_REFUSALS[result.reason],
    });
}

/** What an `answered` or `full` refusal says (the gateway's AppError message is the same text). */
export const ANSWER_REFUSALS = {
  answered:
    'Not forwarded: the server request it answers was already answered or cancelled (each id is answered once)',
  full: 'Not forwarded: the connection holds too many answered server requests to record another; try again later',
} as const;
