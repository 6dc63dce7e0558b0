/**
 * The models a batch names (pure, no I/O), for a connection's `allowedModels` on passthrough.
 *
 * A batch runs many model calls from one request, and none of them passes the gateway: with
 * `allowedModels: ["gpt-4o-mini"]`, an Anthropic Message Batch whose requests ask for another model,
 * or an OpenAI batch input file (JSONL) whose lines do, would run that model at the provider. So,
 * under `allowedModels`, the models a batch will run are read where the provider reads them and each
 * is held to the list (llm.stages.ts decideModel):
 * - Anthropic Message Batches: `requests[i].params.model` of a JSON body (any path: the shape is
 *   what the provider runs, not the spelling of its URL);
 * - an OpenAI batch input file, uploaded as `POST /files` with `purpose=batch`: `body.model` of every
 *   JSONL line of its `file` part;
 * - an upload in parts (`POST /uploads` with `purpose: "batch"`) arrives in pieces no one call holds
 *   whole, so its lines cannot be read: unreadable, refused under `allowedModels`.
 * Whatever cannot be read unambiguously (a line that is not a JSON object, a line spelling a key
 * twice in one object — parsers keep either one —, a request without a text model, two `purpose`
 * or `file` fields, bytes that are not UTF-8) is `unreadable`: refused under `allowedModels`, as
 * the provider might run a model no one judged. Linear in the body, which
 * the connection's maxBodyBytes already bounds.
 */
import { MAX_FILE_MODEL, MAX_FILE_MODELS } from '../../durable-objects/llm.objects';
import { hasDuplicateKey } from '../lib/json.duplicates';
import { isRecord, strictUtf8 } from '../lib/values';
import {
  jsonObjectBody,
  modelsFound,
  NONE,
  named,
  type PassthroughModel,
  topLevelModel,
  unreadable,
} from './llm.passthrough-model';

/** `requests[i].params.model` of an Anthropic Message Batch create (a JSON object body). */
export function messageBatchModels(body: Record<string, unknown>): PassthroughModel {
  const requests = body.requests;
  if (!Array.isArray(requests)) return NONE;
  const found: PassthroughModel[] = [];
  for (let i = 0; i < requests.length; i++) {
    const request = requests[i];
    if (!isRecord(request) || !Object.hasOwn(request, 'params')) continue;
    const params = request.params;
    if (!isRecord(params)) return unreadable(`the body's requests[${i}].params is not an object`);
    if (!Object.hasOwn(params, 'model')) return unreadable(`the body's requests[${i}] names no model`);
    found.push(named(params.model, `the body's requests[${i}].params`));
  }
  return modelsFound(found);
}

/** True when a `purpose` value asks for a batch input, however the provider might spell-check it. */
function isBatchPurpose(value: unknown): boolean {
  return typeof value === 'string' && value.trim().toLowerCase() === 'batch';
}

/** A JSON body that opens an upload in parts (`POST /uploads`) for a batch: its lines never pass whole. */
export function batchUploadModels(body: Record<string, unknown>): PassthroughModel {
  return isBatchPurpose(body.purpose)
    ? unreadable(
        'an upload in parts for a batch cannot be read for the models it names (upload the file with POST /files)',
      )
    : NONE;
}

/** One line of a batch input file: `{custom_id, method, url, body}`, as the provider reads it. */
export type BatchLine = Record<string, unknown>;

/**
 * A batch input file read: every line that parses as a JSON object (read leniently, as a provider
 * reading line by line might: the objects they name are checked whatever else the file holds), and
 * the first reason a strict reading fails (a line that is not a JSON object, an object spelling a
 * key twice, bytes that are not UTF-8, two files), which makes its models unreadable. Blank lines
 * (and CRLF endings) are skipped.
 */
export interface BatchFile {
  lines: BatchLine[];
  unreadable: string | null;
}

export function batchLines(bytes: Uint8Array, into: BatchFile = { lines: [], unreadable: null }): BatchFile {
  let text: string;
  try {
    text = strictUtf8(bytes);
  } catch {
    into.unreadable ??= 'the batch file is not UTF-8';
    text = new TextDecoder().decode(bytes);
  }
  let n = 0;
  for (const raw of text.split('\n')) {
    n++;
    if (raw.trim() === '') continue;
    let value: unknown;
    try {
      value = JSON.parse(raw);
    } catch {
      into.unreadable ??= `line ${n} of the batch file is not JSON`;
      continue;
    }
    if (!isRecord(value)) {
      into.unreadable ??= `line ${n} of the batch file is not a JSON object`;
      continue;
    }
    into.lines.push(value);
    // `{"model":"a","model":"b"}`: read as `b` here, as `a` by a parser keeping the first key, and
    // forwarded as sent: no one reading to judge or record (json.duplicates.ts).
    if (hasDuplicateKey(raw)) into.unreadable ??= `line ${n} of the batch file has a duplicate key`;
  }
  return into;
}

/**
 * The `body.model` of every request of a batch file. Requests are counted as parsed (blank lines
 * skipped), as the references of llm.response.access.ts name them: `request <n>`.
 */
export function batchFileModels(file: BatchFile): PassthroughModel {
  if (file.unreadable) return unreadable(file.unreadable);
  const found: PassthroughModel[] = [];
  file.lines.forEach((line, i) => {
    const body = line.body;
    if (!isRecord(body) || !Object.hasOwn(body, 'model'))
      found.push(unreadable(`request ${i + 1} of the batch file names no model`));
    else found.push(named(body.model, `request ${i + 1} of the batch file`));
  });
  return modelsFound(found);
}

/**
 * The models recorded with a batch file at its upload, whatever the connection's `allowedModels`
 * then (docs/llm-gateway.md#passthrough-and-allowedmodels): a batch create on the file is decided
 * against the list as it is when the batch is created, which may have been set or narrowed since.
 * Every distinct `body.model` of its lines; null (unknown: such a batch is refused under
 * `allowedModels`) when the file cannot be read unambiguously, names no model, names more than
 * MAX_FILE_MODELS, or one longer than MAX_FILE_MODEL. Linear in the file, whose lines are read anyway.
 */
export function recordedModels(file: BatchFile | null | undefined): string[] | null {
  if (!file) return null;
  const read = batchFileModels(file);
  const models = read.kind === 'named' ? [read.model] : read.kind === 'several' ? read.models : null;
  if (!models || models.length > MAX_FILE_MODELS) return null;
  return models.every((m) => m.length <= MAX_FILE_MODEL) ? models : null;
}

/**
 * A form's batch upload (`POST /files` with `purpose=batch`): its file's lines; null when the form
 * uploads for another purpose. Two `purpose` or `file` fields, or a `file` that is text, are
 * unreadable (the provider might take either); the lines of every file part are read all the same.
 */
export async function formBatchFile(form: Pick<FormData, 'getAll'>): Promise<BatchFile | null> {
  const purposes = form.getAll('purpose');
  if (!purposes.some(isBatchPurpose)) return null;
  const file: BatchFile = { lines: [], unreadable: null };
  if (purposes.length > 1) file.unreadable = `the form carries ${purposes.length} "purpose" fields`;
  const parts = form.getAll('file');
  if (parts.length !== 1 || typeof parts[0] === 'string')
    file.unreadable ??= 'a batch upload must carry exactly one file part named "file"';
  for (const part of parts)
    if (typeof part !== 'string') batchLines(new Uint8Array(await (part as Blob).arrayBuffer()), file);
  return file;
}

/** Every model a JSON object body names: its top-level `model`, a Message Batch's, an upload's. */
export function jsonBodyModels(bytes: Uint8Array): PassthroughModel {
  const value = jsonObjectBody(bytes);
  // Forwarded as sent: a key spelled twice is read as its last value here, maybe the first there.
  if (value && hasDuplicateKey(new TextDecoder().decode(bytes)))
    return unreadable('the body spells a key twice in one object');
  return value
    ? modelsFound([topLevelModel(value), messageBatchModels(value), batchUploadModels(value)])
    : NONE;
}
