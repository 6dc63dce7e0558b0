/**
 * What an answer about Message Batches, fine-tuning jobs, vector stores and uploads hands its
 * caller (llm.objects.stores.ts says which call claims what; llm.objects.stage.ts records it):
 *
 *   message_batch      a create's answer, Anthropic's `{type: "message_batch", id}`
 *   fine_tuning_job    a create's answer, `{object: "fine_tuning.job", id}`
 *   fine_tuning_files  the `result_files` of every job in an answer about the caller's jobs (a
 *                      create, retrieve, cancel, pause, resume, the filtered list): only the job's
 *                      creator sees them, so they are its files
 *   vector_store       a create's answer, `{object: "vector_store", id}`
 *   upload             a create's answer, `{object: "upload", id}`
 *   upload_file        the `file` (`{object: "file", id}`) of an answer about the caller's upload:
 *                      a completed upload's file is its creator's
 * Pure.
 */
import { isObjectId, type OwnedKind } from '../../durable-objects/llm.objects';
import { isRecord } from '../lib/values';
import type { ClaimShape } from './llm.objects.named';

/** The claims this module makes. */
export const STORE_CLAIMS: readonly ClaimShape[] = [
  'message_batch',
  'fine_tuning_job',
  'fine_tuning_files',
  'vector_store',
  'upload',
  'upload_file',
];

/** The created object's shape per claim: which field says what it is, and what it says. */
const CREATED: ReadonlyArray<[ClaimShape & Exclude<OwnedKind, 'response'>, 'object' | 'type', string]> = [
  ['message_batch', 'type', 'message_batch'],
  ['fine_tuning_job', 'object', 'fine_tuning.job'],
  ['vector_store', 'object', 'vector_store'],
  ['upload', 'object', 'upload'],
];

type Record_ = Record<string, unknown>;

/**
 * Claims what `message` (one JSON answer) hands the caller among the `open` claims, through
 * `record`, and closes them: these answers are single JSON bodies, read once. At most `max` files.
 */
export function claimStores(
  message: Record_,
  open: Set<ClaimShape>,
  record: (kind: Exclude<OwnedKind, 'response'>, ids: string[]) => void,
  max: number,
): void {
  for (const [claim, field, value] of CREATED) {
    if (open.has(claim) && message[field] === value && isObjectId(message.id)) record(claim, [message.id]);
    open.delete(claim);
  }
  if (open.has('fine_tuning_files')) {
    const jobs = message.object === 'list' && Array.isArray(message.data) ? message.data : [message];
    const files: string[] = [];
    for (const job of jobs) {
      if (!isRecord(job) || job.object !== 'fine_tuning.job' || !Array.isArray(job.result_files)) continue;
      for (const id of job.result_files) if (isObjectId(id) && !files.includes(id)) files.push(id);
    }
    record('file', files.slice(0, max));
    open.delete('fine_tuning_files');
  }
  if (open.has('upload_file')) {
    const file = message.object === 'upload' ? message.file : undefined;
    if (isRecord(file) && file.object === 'file' && isObjectId(file.id)) record('file', [file.id]);
    open.delete('upload_file');
  }
}
