/**
 * The answer's side of stored LLM objects (docs/llm-gateway.md#stored-objects): the ids an answer
 * hands its caller are claimed for it, and a provider list of them is cut down to the caller's own.
 * Pure, but for noting a claim in flight (gateway.claims.ts, memory of this isolate).
 *
 * Claims (what llm.response.access.ts says a call claims):
 *   response          a stored response's id: the JSON `{object: "response", id}`, or the `response`
 *                     of a stream's first event — an `llm_response` / `response_created` finding
 *   items             the ids of a Responses answer's `output` items (the JSON answer's, a stream's
 *                     `response.output_item.done` items and its final `response`), at most
 *                     MAX_CLAIMED_ITEMS per call — an `llm_object` / `object_created` finding
 *                     `{object: "item", ids}`; an item beyond them is not recorded, so refused
 *   chat_completion   a `store: true` chat completion's id (`chat.completion` JSON, or a stream's
 *                     `chat.completion.chunk`s, which all carry it)
 *   file              an upload's answer (`{object: "file", id}`; Anthropic's `{type: "file", id}`);
 *                     a batch file's (`purpose=batch`) with the models its lines name (`models`,
 *                     llm.batch-models.ts recordedModels), which the guard records with it
 *   batch             a batch create's answer (`{object: "batch", id}`)
 *   batch_files       the `output_file_id` and `error_file_id` of every batch in an answer about the
 *                     caller's batches (a create, a retrieve, a cancel, the filtered list): only the
 *                     batch's creator sees them, so they are its files
 *   the others        Message Batches, fine-tuning jobs (and their result files), vector stores,
 *                     uploads (and a completed upload's file): llm.objects.claims.ts
 * Each finding is claimed for the call's caller by the guard when the outcome reaches it
 * (durable-objects/response.owners.ts), and noted as in flight until then.
 *
 * Lists: the admit of a list call returns the caller's own ids of its kind (`call.ownedTasks`, at
 * most 1,000, the most recently used); the answer's `data` keeps only those entries, and its
 * `first_id` becomes the first entry kept. `last_id` and `has_more` are kept as sent: they say
 * where the provider's next page starts (an id alone reaches nothing through the gateway).
 */
import {
  isObjectId,
  OBJECT_CREATED,
  OBJECT_STAGE,
  type OwnedKind,
  objectKey,
  RESPONSE_CREATED,
  RESPONSE_STAGE,
} from '../../durable-objects/llm.objects';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import { recordedModels } from '../llm/llm.batch-models';
import { claimPending } from './gateway.claims';
import type { ResponseStage, StageCall } from './gateway.stages';
import { claimStores, STORE_CLAIMS } from './llm.objects.claims';
import { type LlmRequestRead, responseUse } from './llm.response.access';

/** Output item ids one call claims; an item beyond them is unknown, so refused to everyone. */
export const MAX_CLAIMED_ITEMS = 256;

const CHAT_OBJECTS = new Set(['chat.completion', 'chat.completion.chunk']);

/** Response stage claiming what the answer creates for the call's caller; changes nothing. */
export function objectClaimStage(call: StageCall, parsed: LlmRequestRead | null): ResponseStage | null {
  const { claims } = responseUse(parsed);
  if (claims.length === 0) return null;
  const open = new Set(claims);
  const items = new Set<string>();

  function record(
    kind: Exclude<OwnedKind, 'response'>,
    ids: string[],
    extra: Record<string, unknown> = {},
  ): void {
    if (ids.length === 0) return;
    call.findings.push({
      stage: OBJECT_STAGE,
      kind: OBJECT_CREATED,
      severity: 'info',
      detail: { object: kind, ids, ...extra },
    });
    for (const id of ids) claimPending(call, objectKey(kind, id));
  }

  function newItems(output: unknown[]): string[] {
    const ids: string[] = [];
    for (const item of output) {
      const id = isRecord(item) ? item.id : undefined;
      if (!isObjectId(id) || items.has(id) || items.size >= MAX_CLAIMED_ITEMS) continue;
      items.add(id);
      ids.push(id);
    }
    return ids;
  }

  /** A batch (a create's answer: its id), and every batch in the answer: its output and error files. */
  function claimBatches(message: Record<string, unknown>): void {
    const batches = message.object === 'list' && Array.isArray(message.data) ? message.data : [message];
    const files: string[] = [];
    for (const batch of batches) {
      if (!isRecord(batch) || batch.object !== 'batch') continue;
      if (open.has('batch') && isObjectId(batch.id)) {
        open.delete('batch');
        record('batch', [batch.id]);
      }
      for (const id of [batch.output_file_id, batch.error_file_id])
        if (isObjectId(id) && open.has('batch_files') && !files.includes(id)) files.push(id);
    }
    record('file', files.slice(0, MAX_CLAIMED_ITEMS));
    open.delete('batch_files');
  }

  return {
    name: 'llm_objects',
    wants: (raw) => open.size > 0 && mayHaveKey(raw, 'id'),
    done: () => open.size === 0,
    onMessage(message) {
      if (!isRecord(message)) return undefined;
      const response = message.object === 'response' ? message : message.response;
      if (isRecord(response) && response.object === 'response') {
        if (open.has('response') && isObjectId(response.id)) {
          open.delete('response');
          call.findings.push({
            stage: RESPONSE_STAGE,
            kind: RESPONSE_CREATED,
            severity: 'info',
            detail: { responseId: response.id },
          });
          claimPending(call, objectKey('response', response.id));
        }
        // The final response holds every output item: nothing more to claim after it.
        if (open.has('items') && Array.isArray(response.output) && response.output.length > 0) {
          record('item', newItems(response.output));
          open.delete('items');
        }
      } else if (open.has('items') && message.type === 'response.output_item.done') {
        record('item', newItems([message.item]));
      } else if (open.has('chat_completion') && typeof message.object === 'string') {
        if (CHAT_OBJECTS.has(message.object) && isObjectId(message.id)) {
          open.delete('chat_completion');
          record('chat_completion', [message.id]);
        }
      } else if (open.has('file') && (message.object ?? message.type) === 'file' && isObjectId(message.id)) {
        // OpenAI's file is `{object: "file"}`, Anthropic's `{type: "file"}`. A batch file's models
        // are recorded with it: a batch create on it is decided against allowedModels as they are then.
        open.delete('file');
        const models = recordedModels(parsed?.batchFile);
        record('file', [message.id], models ? { models } : {});
      } else if (STORE_CLAIMS.some((claim) => open.has(claim))) {
        // Message Batches, fine-tuning jobs, vector stores, uploads (llm.objects.claims.ts).
        claimStores(message, open, record, MAX_CLAIMED_ITEMS);
      } else if (open.has('batch') || open.has('batch_files')) {
        claimBatches(message);
      }
      return undefined;
    },
  };
}

/**
 * Response stage of a provider list (`GET /chat/completions`, `/files`, `/batches`,
 * `/messages/batches`, `/fine_tuning/jobs`, `/vector_stores`): the caller's own entries only.
 */
export function ownedListStage(call: StageCall, parsed: LlmRequestRead | null): ResponseStage | null {
  if (!responseUse(parsed).list) return null;
  const mine = new Set(call.ownedTasks ?? []);
  return {
    name: 'llm_object_list',
    onMessage(message) {
      if (!isRecord(message) || !Array.isArray(message.data)) return undefined;
      const shown = message.data.filter((entry) => isRecord(entry) && mine.has(entry.id as string));
      if (shown.length === message.data.length) return undefined;
      const first = (shown[0] as { id?: unknown } | undefined)?.id ?? null;
      return { ...message, data: shown, ...('first_id' in message ? { first_id: first } : {}) };
    },
  };
}
