/**
 * A batch create's input file under `allowedModels` (docs/llm-gateway.md#passthrough-and-allowedmodels).
 *
 * An OpenAI batch (`POST /batches {input_file_id}`) runs the lines of a file uploaded earlier, and
 * the models they name were read at the upload — under the connection's `allowedModels` of then.
 * A list set or narrowed since must hold too: so on a connection with `allowedModels`, the create
 * asks its guard (AdmitRequest.tasks, protocol `llm-batch`) to admit it only if the input file is
 * the caller's own and every model recorded at its upload (durable-objects/batch.file-models.ts)
 * matches the list now. A file with no record is refused as well, with a message saying to upload
 * it again. The guard's refusal (`models_refused`) answers here as a policy denial (403
 * `policy_denied`, the SDKs' PermissionDeniedError); its row is a `deny`, nothing is forwarded.
 */
import { modelsRefusalReason } from '../../durable-objects/batch.file-models';
import type { AdmitRequest, AdmitResult } from '../../durable-objects/guard.contract';
import { AppError } from '../lib/errors';

/**
 * The admit's check of a call naming stored objects (`ids`): a batch create (`batchInput`, its
 * input file's key) on a connection with `allowedModels` also has its input file's models checked.
 */
export function objectsAccess(
  ids: string[],
  batchInput: string | undefined,
  allowedModels: readonly string[] | null | undefined,
): AdmitRequest['tasks'] {
  if (ids.length === 0) return undefined;
  if (batchInput === undefined || !allowedModels?.length) return { protocol: 'llm-response', ids };
  return { protocol: 'llm-batch', ids, batchInput, allowedModels: [...allowedModels] };
}

/** The guard refused the batch for its input file's models: a policy denial saying why. */
export function batchModelsRefusal(verdict: Extract<AdmitResult, { verdict: 'models_refused' }>): AppError {
  const reason = modelsRefusalReason(verdict);
  return new AppError('policy_denied', {
    message: `Denied by policy: ${reason}`,
    details: {
      reason,
      model: verdict.model ?? null,
      endpoint: 'passthrough',
      location: 'body',
      path: 'input_file_id',
    },
  });
}
