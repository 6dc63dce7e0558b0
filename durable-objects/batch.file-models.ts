/**
 * The models each batch input file of one connection runs, recorded at its upload and checked when
 * a batch is created from it (docs/llm-gateway.md#passthrough-and-allowedmodels) — the guard's
 * record beside the file's owner (response.owners.ts), checked in the same admit.
 *
 * Why: under `allowedModels` the gateway reads every model a batch will run, and an OpenAI batch
 * runs the lines of a file uploaded earlier (`POST /files`, `purpose=batch`). Checked only at the
 * upload, a file uploaded while the connection had no list (or a wider one) ran models outside the
 * list set or narrowed since: `POST /batches {input_file_id}` read nothing. So the upload's models
 * are recorded (the `models` of its file claim: llm.objects.ts claimedFileModels, whatever the
 * connection's list then), and a batch create under `allowedModels` (AdmitRequest.tasks, protocol
 * `llm-batch`) is admitted only when its input file — already checked to be the caller's own —
 * has a record and every model in it matches the list as it is now. A file without a record
 * (uploaded before this check, completed from an upload in parts, not read as a batch file, or
 * naming more than MAX_FILE_MODELS) is refused, as is one naming another model: `models_refused`,
 * recorded as a `deny` (fail closed).
 *
 * Isolation: each connection's guard has its own storage, so a file of another connection or
 * organization has no record here (nor an owner: refused as not found before this is read); within
 * the connection the owner check runs first, and a record is made only for the caller who owns
 * the file.
 *
 * Bound: the record is the models' JSON (at most MAX_FILE_MODELS names of MAX_FILE_MODEL
 * characters), in an OwnerStore of its own whose `owner` column holds it: the first record wins,
 * live OWNER_TTL_MS after its last use (a batch created from the file is a use), at most
 * MAX_FILE_RECORDS per connection, the least recently used evicted (its file is then unknown:
 * refused under `allowedModels`, never admitted unchecked).
 */
import type { AuditEventInsert } from '../workers/db/schema';
import { allowedModelsMatcher } from '../workers/shared/llm.allowed-models';
import type { AdmitRequest, Finding } from './guard.contract';
import {
  claimedFileModels,
  MAX_FILE_MODELS,
  OBJECT_CREATED,
  OBJECT_STAGE,
  objectKey,
  objectOfKey,
} from './llm.objects';
import { OwnerStore } from './owner.store';
import type { SqlLike } from './sql.types';

/** Batch files whose models one connection records; beyond it the least recently used goes. */
export const MAX_FILE_RECORDS = 50_000;

/** The guard's refusal of a batch create for its input file's models. */
export interface ModelsRefused {
  verdict: 'models_refused';
  key: string;
  /** The recorded model outside the list; absent when the file's models are unknown. */
  model?: string;
}

export class BatchFileModels {
  readonly #store: OwnerStore;

  /** `cap`: MAX_FILE_RECORDS, smaller only in tests. */
  constructor(sql: SqlLike, cap = MAX_FILE_RECORDS) {
    this.#store = new OwnerStore(sql, {
      table: 'batch_file_models',
      key: 'file_key',
      cap,
      atCap: 'evict',
      noun: 'batch file models',
    });
  }

  /**
   * A batch create (`llm-batch`) whose input file is unknown here or runs a model the list does not
   * match: its refusal; null when every recorded model is allowed, or the call is no batch create.
   * Called only once the ids the call names were found to be its caller's.
   */
  refusal(request: Pick<AdmitRequest, 'tasks' | 'final'>, now: number): ModelsRefused | null {
    const tasks = request.tasks;
    if (request.final || tasks?.protocol !== 'llm-batch') return null;
    const key = tasks.batchInput ?? '';
    const allowed = allowedModelsMatcher(tasks.allowedModels);
    // A batch create checked against no list, or an input the owner check did not cover: unknown.
    if (!allowed || !tasks.ids?.includes(key)) return { verdict: 'models_refused', key };
    const rows = this.#store.rows([key]);
    const row = rows[0];
    const models = this.#store.live(row, now) ? parseModels(row.owner) : null;
    if (!models) return { verdict: 'models_refused', key };
    const outside = models.find((m) => !allowed(m));
    if (outside !== undefined) return { verdict: 'models_refused', key, model: outside };
    this.#store.touch([key], rows, now);
    return null;
  }

  /**
   * The models a completed upload's findings report for its file, recorded when `owns(key)` (the
   * row's caller owns the file: its claim was the first).
   */
  claimFrom(
    row: AuditEventInsert,
    findings: readonly Finding[] | undefined,
    now: number,
    owns: (key: string) => boolean,
  ): void {
    if (row.type !== 'llm_call' || !findings?.length) return;
    for (const f of findings) {
      if (f.stage !== OBJECT_STAGE || f.kind !== OBJECT_CREATED) continue;
      const models = claimedFileModels(f.detail);
      const id = (f.detail?.ids as unknown[] | undefined)?.[0];
      if (!models || typeof id !== 'string') continue;
      const key = objectKey('file', id);
      if (owns(key)) this.#store.claim([key], JSON.stringify(models), now);
    }
  }

  /** Deletes expired records, oldest first. */
  prune(now: number): void {
    this.#store.prune(now);
  }
}

/** A record's models, or null when it is not what claimFrom writes. */
function parseModels(json: string): string[] | null {
  try {
    const value: unknown = JSON.parse(json);
    return Array.isArray(value) && value.length > 0 && value.every((m) => typeof m === 'string')
      ? value
      : null;
  } catch {
    return null;
  }
}

/**
 * Why a batch create was refused for its input file's models: the audit row's reason and, in the
 * provider's error shape, the caller's message (workers/gateway/llm.batch-input.ts).
 */
export function modelsRefusalReason(refused: Pick<ModelsRefused, 'key' | 'model'>): string {
  const file = JSON.stringify(objectOfKey(refused.key).id);
  if (refused.model !== undefined)
    return `the batch's input file ${file} runs model ${JSON.stringify(refused.model)}, which is not in this connection's allowedModels`;
  return (
    `the models of the batch's input file ${file} were not recorded at its upload (uploaded before ` +
    'the gateway recorded them, uploaded in parts with /uploads, not readable as a batch file, or ' +
    `naming more than ${MAX_FILE_MODELS} models), and this connection allows only listed models: ` +
    'upload the file again with POST /files (purpose=batch) and create the batch from the new file'
  );
}
