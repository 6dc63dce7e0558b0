/**
 * Which A2A context a send continues, and which contexts an answer reports
 * (docs/a2a.md#who-may-continue-a-context). Pure.
 *
 * An agent may keep memory per context (the conversation so far) and, like tasks, it sees every
 * caller of a connection as one (the stored credential): a send naming someone else's `contextId`
 * would read or steer their conversation. The connection's guard records who first used each
 * context id the agent returned (durable-objects/context.owners.ts) and refuses a send naming one
 * recorded for another caller, in the admit round trip. Unlike a task id, a context id nobody has
 * used is admitted: A2A lets a client mint its own, and its first user then owns it.
 *
 * Fail closed on what is read: every key an agent may read the context from (`contextId`, and the
 * proto field name `context_id`, which protobuf JSON parsers — the official SDK's among them —
 * accept as well) is checked, not only the first; a value the gateway cannot record (not a string,
 * longer than MAX_CONTEXT_ID) is refused as invalid, since agents coerce (`String(["x"])` is "x").
 */
import type { AdmitRequest, AdmitResult } from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import type { ResponseStage, StageCall } from './gateway.stages';
import { batchModelsRefusal } from './llm.batch-input';
import { refusedResponse } from './mcp.server-responses';

/** Longest context id recorded or accepted (as task ids: a2a.task.access.ts MAX_TASK_ID). */
export const MAX_CONTEXT_ID = 200;
/** Distinct context ids one answer may claim (a send starts or continues one; the rest is noise). */
export const MAX_CLAIMED_CONTEXTS = 8;
/** The finding an answer's context is reported with (the guard claims it for the send's caller). */
export const CONTEXT_STAGE = 'a2a_context';

const KEYS = ['contextId', 'context_id'] as const;

function invalid(key: string): AppError {
  return new AppError('validation_failed', {
    message: `message.${key} must be a string of at most ${MAX_CONTEXT_ID} characters`,
    details: { location: 'body', path: `params.message.${key}` },
  });
}

/**
 * The context ids a send names (`params.message.contextId` / `context_id`), or null when it names
 * none (a send that starts a conversation) or is not a send. An empty string is none, as agents
 * read it. Throws `validation_failed` for a value the gateway cannot record.
 */
export function namedContexts(canonical: string | null, params: unknown): string[] | null {
  if (canonical !== 'SendMessage' && canonical !== 'SendStreamingMessage') return null;
  const message = isRecord(params) && isRecord(params.message) ? params.message : null;
  if (!message) return null;
  const ids: string[] = [];
  for (const key of KEYS) {
    const value = message[key];
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string' || value.length > MAX_CONTEXT_ID) throw invalid(key);
    if (!ids.includes(value)) ids.push(value);
  }
  return ids.length > 0 ? ids : null;
}

/** The context ids a send's result (or stream event) reports, in v1.0 or v0.3 shape. */
function reportedContexts(result: unknown): string[] {
  if (!isRecord(result)) return [];
  const found: string[] = [];
  for (const inner of [result, result.task, result.message, result.statusUpdate, result.artifactUpdate]) {
    if (!isRecord(inner)) continue;
    for (const key of KEYS) {
      const value = inner[key];
      // A longer id is not recorded: a send naming it is refused as invalid (namedContexts).
      if (typeof value === 'string' && value !== '' && value.length <= MAX_CONTEXT_ID) found.push(value);
    }
  }
  return found;
}

/**
 * Response stage of a send: each context id the agent reports becomes a finding (`a2a_context` /
 * `context_id`), which the guard claims for the call's caller when the outcome reaches it.
 */
export function contextStage(call: StageCall): ResponseStage {
  const seen = new Set<string>();
  return {
    name: CONTEXT_STAGE,
    wants: (raw) => mayHaveKey(raw, 'contextId') || mayHaveKey(raw, 'context_id'),
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      for (const contextId of reportedContexts(message.result)) {
        if (seen.has(contextId) || seen.size >= MAX_CLAIMED_CONTEXTS) continue;
        seen.add(contextId);
        call.findings.push({
          stage: CONTEXT_STAGE,
          kind: 'context_id',
          severity: 'info',
          detail: { contextId },
        });
      }
      return undefined;
    },
  };
}

/**
 * The answer to a call the guard refused for naming another caller's task, stored LLM response or context, or (MCP) a
 * server request answered already (mcp.server-responses.ts); else null.
 */
export function ownershipRefusal(verdict: AdmitResult): AppError | null {
  if (verdict.verdict === 'task_unknown') return new AppError('task_not_found');
  // A stored LLM response: the LLM adapter names the id in the provider's words (llm.response.access.ts).
  // The key the guard refused rides along so that it is the one named (llm.response.access.ts).
  if (verdict.verdict === 'response_unknown')
    return new AppError('response_not_found', verdict.key ? { details: { key: verdict.key } } : undefined);
  // A batch whose input file runs a model allowedModels does not list (or unknown ones).
  if (verdict.verdict === 'models_refused') return batchModelsRefusal(verdict);
  if (verdict.verdict === 'context_unknown') return new AppError('context_not_found');
  if (verdict.verdict === 'response_refused') return refusedResponse(verdict.reason, 'id');
  return null;
}

/**
 * True when the guard's admit checks isolation for this call (a task, a context, an answered
 * server request): without the guard it is refused even on a fail-open connection.
 */
export function needsGuard(tasks: AdmitRequest['tasks']): boolean {
  return Boolean(tasks?.ids || tasks?.contexts || tasks?.answers || tasks?.hosted);
}
