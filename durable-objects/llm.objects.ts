/**
 * The kinds of stored LLM object whose creator the guard records (docs/llm-gateway.md#stored-objects),
 * how each is keyed in the one owner table (llm.owners.ts), and how a call's audit findings claim
 * them — shared by the guard and the Worker, which names them in its admit as keys (objectKey).
 *
 *   response          a stored Responses API response (`resp_…`)
 *   item              an item of a Responses answer's `output` (`msg_…`, `rs_…`, `fc_…`): a create's
 *                     `input` may name one by id (an `item_reference`, or an item carrying its id)
 *   chat_completion   a chat completion created with `store: true` (`chatcmpl-…`)
 *   file              an uploaded file (`file-…`), or a batch's output or error file
 *   batch             a Batch API batch (`batch_…`)
 *   message_batch     an Anthropic Message Batch (`msgbatch_…`): its results are the model's answers
 *   fine_tuning_job   an OpenAI fine-tuning job (`ftjob-…`)
 *   vector_store      an OpenAI vector store (`vs_…`): the files it indexes, searchable
 *   upload            an OpenAI Upload (`upload_…`), whose completion makes a file
 *
 * Keys: a response's id as it is (the records written before the other kinds keep working), any
 * other kind's behind `~<kind>:`; a response id that itself starts with `~` is put behind
 * `~response:`, so no two (kind, id) pairs share a key.
 */
import type { AuditEventInsert } from '../workers/db/schema';
import type { Finding } from './guard.contract';

export type OwnedKind =
  | 'response'
  | 'item'
  | 'chat_completion'
  | 'file'
  | 'batch'
  | 'message_batch'
  | 'fine_tuning_job'
  | 'vector_store'
  | 'upload';

const KINDS = new Set<string>([
  'response',
  'item',
  'chat_completion',
  'file',
  'batch',
  'message_batch',
  'fine_tuning_job',
  'vector_store',
  'upload',
]);

/** The kinds whose provider lists are filtered to the caller's own (AdmitRequest.tasks.objects). */
export type ListedKind =
  | 'chat_completion'
  | 'file'
  | 'batch'
  | 'message_batch'
  | 'fine_tuning_job'
  | 'vector_store';

/** Longest object id recorded or accepted (OpenAI's response ids are `resp_` and 48 hex digits). */
export const MAX_OBJECT_ID = 200;

/**
 * Distinct models the record of a batch input file holds (docs/llm-gateway.md#passthrough-and-allowedmodels):
 * a file naming more is recorded as unknown, which a batch create under `allowedModels` refuses.
 * OpenAI runs one model per batch file; the room is for a file the provider would refuse anyway.
 */
export const MAX_FILE_MODELS = 16;
/** Longest model name a file's record holds (a file naming a longer one is unknown). */
export const MAX_FILE_MODEL = 256;

/**
 * The models a file claim reports (`detail.models` of an `object_created` finding for one file,
 * made at a batch file's upload: workers/gateway/llm.objects.stage.ts), or null when it reports
 * none or more than the bounds allow. Read by the guard, which records them with the file.
 */
export function claimedFileModels(detail: Record<string, unknown> | undefined): string[] | null {
  const models = detail?.models;
  if (detail?.object !== 'file' || !Array.isArray(detail.ids) || detail.ids.length !== 1) return null;
  if (!Array.isArray(models) || models.length === 0 || models.length > MAX_FILE_MODELS) return null;
  const ok = models.every((m) => typeof m === 'string' && m !== '' && m.length <= MAX_FILE_MODEL);
  return ok ? (models as string[]) : null;
}

/** The finding an answer's created response is reported with (kept from before other kinds). */
export const RESPONSE_STAGE = 'llm_response';
export const RESPONSE_CREATED = 'response_created';
/** The finding of every other kind: `detail: { object: OwnedKind, ids: string[] }`. */
export const OBJECT_STAGE = 'llm_object';
export const OBJECT_CREATED = 'object_created';

const MARK = '~';

/** True for an id the gateway records and accepts: a string of 1 to MAX_OBJECT_ID characters. */
export function isObjectId(id: unknown): id is string {
  return typeof id === 'string' && id !== '' && id.length <= MAX_OBJECT_ID;
}

/** The record key of (kind, id). */
export function objectKey(kind: OwnedKind, id: string): string {
  return kind === 'response' && !id.startsWith(MARK) ? id : `${MARK}${kind}:${id}`;
}

/** The kind and id of a record key. */
export function objectOfKey(key: string): { kind: OwnedKind; id: string } {
  if (!key.startsWith(MARK)) return { kind: 'response', id: key };
  const colon = key.indexOf(':');
  const kind = key.slice(1, colon);
  // A key the gateway did not make (an older Worker's bare id starting with `~`) reads as a response.
  return colon > 1 && KINDS.has(kind)
    ? { kind: kind as OwnedKind, id: key.slice(colon + 1) }
    : { kind: 'response', id: key };
}

/** The first key of `kind`'s ids: lists read the caller's keys of one kind by this prefix. */
export function kindPrefix(kind: Exclude<OwnedKind, 'response'>): string {
  return `${MARK}${kind}:`;
}

/** True for a finding that claims an object (the gateway sends it as early as it can). */
export function isObjectClaim(f: Finding): boolean {
  return (
    (f.stage === RESPONSE_STAGE && f.kind === RESPONSE_CREATED) ||
    (f.stage === OBJECT_STAGE && f.kind === OBJECT_CREATED)
  );
}

/** The object keys an LLM call's findings report as created (its caller claims them). */
export function claimedObjects(row: AuditEventInsert, findings: readonly Finding[] | undefined): string[] {
  if (row.type !== 'llm_call' || !findings?.length) return [];
  const keys = new Set<string>();
  for (const f of findings) {
    if (!isObjectClaim(f)) continue;
    if (f.stage === RESPONSE_STAGE) {
      const id = f.detail?.responseId;
      if (isObjectId(id)) keys.add(objectKey('response', id));
      continue;
    }
    const kind = f.detail?.object;
    const ids = f.detail?.ids;
    if (typeof kind !== 'string' || !KINDS.has(kind) || !Array.isArray(ids)) continue;
    for (const id of ids) if (isObjectId(id)) keys.add(objectKey(kind as OwnedKind, id));
  }
  return [...keys];
}
