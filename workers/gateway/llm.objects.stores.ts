/**
 * The stored objects besides responses, chat completions, files and batches that a passthrough
 * call names, creates or lists (docs/llm-gateway.md#stored-objects), read from its path (after
 * llm.objects.named.ts resourceOf) and body. Pure.
 *
 *   message_batches   Anthropic's `/messages/batches`: a create claims the batch and names the
 *                     files its requests' messages read (`requests[i].params.messages`); a path
 *                     id (retrieve, `/results`, `/cancel`, `DELETE`) names it; `GET` lists
 *   fine_tuning_jobs  `/fine_tuning/jobs`: a create claims the job and names its `training_file`
 *                     and `validation_file`; a path id (retrieve, `/cancel`, `/pause`, `/resume`,
 *                     `/events`, `/checkpoints`) names it; `GET` lists. Every answer about the
 *                     caller's jobs claims their `result_files`
 *   vector_stores     `/vector_stores`: a create claims the store and names its `file_ids`; a
 *                     path id (retrieve, update, `DELETE`, `/search`, `/files…`, `/file_batches…`)
 *                     names it, and a file it names (`/files/{id}`, an attach's `file_id`, a file
 *                     batch's `file_ids` and `files[].file_id`) too; `GET` lists
 *   uploads           `/uploads`: a create claims the upload; a path id (`/parts`, `/complete`,
 *                     `/cancel`) names it, and the file a completed upload holds becomes its
 *                     creator's (`upload_file`)
 *   shared            Assistants, threads, containers, evals, videos (SHARED_RESOURCES): the
 *                     gateway records no creator for them, so they are refused
 *                     (`shared_object_refused`) unless the connection's
 *                     `settings.sharedProviderObjects` lets every caller share them
 *
 *   messages          an Anthropic Messages create (or count) by another spelling of its path
 *                     (`POST /messages/`): its files and container, as the catalog's create's
 *
 * The stores and containers a Responses create's tools name (`file_search`'s `vector_store_ids`,
 * `code_interpreter`'s `container`) and an Anthropic Messages create's `container` are read here
 * too (toolObjects).
 */
import { isObjectId, type ListedKind } from '../../durable-objects/llm.objects';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import {
  badId,
  type ClaimShape,
  inputFiles,
  MAX_NAMED,
  type Named,
  type Resource,
  tooMany,
} from './llm.objects.named';

/** What a call does with these stores; `fault` when it is refused before anything is looked up. */
export interface StoreUse {
  named: Named[];
  claims: ClaimShape[];
  list?: ListedKind;
  fault?: AppError;
}

type Body = Record<string, unknown> | null;
/** The call's body, parsed when first asked for (a fault when it cannot be read). */
export type BodyOf = () => Body | AppError;

const NOTHING: StoreUse = { named: [], claims: [] };

/** The use of a resource this module reads, or null for one it does not. */
export function storeUse(
  resource: Resource,
  rest: readonly string[],
  method: string,
  body: BodyOf,
  shares: boolean,
): StoreUse | null {
  switch (resource) {
    case 'message_batches':
      return messageBatches(rest, method, body, shares);
    case 'fine_tuning_jobs':
      return fineTuningJobs(rest, method, body);
    case 'vector_stores':
      return vectorStores(rest, method, body);
    case 'uploads':
      return uploads(rest, method);
    case 'messages':
      // A Messages create by another spelling of its path: judged as the catalog's create is.
      if (method !== 'POST') return NOTHING;
      return withBody(body, (b) => messagesContainer(b, shares) ?? inputFiles(b?.messages, 'messages'), []);
    case 'shared':
      return shares ? NOTHING : { ...NOTHING, fault: sharedFault({ location: 'path' }) };
    default:
      return null;
  }
}

function at(kind: Named['kind'], id: string): Named {
  return { kind, id, location: 'path' };
}

function withBody(body: BodyOf, read: (b: Body) => Named[] | AppError, claims: ClaimShape[]): StoreUse {
  const parsed = body();
  if (parsed instanceof AppError) return { ...NOTHING, fault: parsed };
  const named = read(parsed);
  return named instanceof AppError ? { ...NOTHING, fault: named } : { named, claims };
}

function messageBatches(rest: readonly string[], method: string, body: BodyOf, shares: boolean): StoreUse {
  if (rest.length > 0) return { named: [at('message_batch', rest[0]!)], claims: [] };
  if (method === 'GET') return { ...NOTHING, list: 'message_batch' };
  if (method !== 'POST') return NOTHING;
  return withBody(body, (b) => batchRequestFiles(b?.requests, shares), ['message_batch']);
}

/** The files the messages of a Message Batch's requests read, and their containers (as a Messages create's). */
function batchRequestFiles(requests: unknown, shares: boolean): Named[] | AppError {
  if (!Array.isArray(requests)) return [];
  const named: Named[] = [];
  for (let i = 0; i < requests.length; i++) {
    const params = (requests[i] as { params?: unknown } | null)?.params;
    if (!isRecord(params)) continue;
    const container = shares ? null : containerOf(params.container, `requests[${i}].params.container`);
    if (container) return container;
    const files = inputFiles(params.messages, `requests[${i}].params.messages`);
    if (files instanceof AppError) return files;
    named.push(...files);
    if (named.length > MAX_NAMED) return tooMany();
  }
  return named;
}

function fineTuningJobs(rest: readonly string[], method: string, body: BodyOf): StoreUse {
  const claims: ClaimShape[] = ['fine_tuning_files'];
  if (rest.length > 0) return { named: [at('fine_tuning_job', rest[0]!)], claims };
  if (method === 'GET') return { ...NOTHING, list: 'fine_tuning_job', claims };
  if (method !== 'POST') return NOTHING;
  return withBody(
    body,
    (b) => {
      const named: Named[] = [];
      for (const field of ['training_file', 'validation_file']) {
        const file = fileField(b?.[field], field);
        if (file instanceof AppError) return file;
        named.push(...file);
      }
      return named;
    },
    ['fine_tuning_job', 'fine_tuning_files'],
  );
}

function vectorStores(rest: readonly string[], method: string, body: BodyOf): StoreUse {
  if (rest.length === 0) {
    if (method === 'GET') return { ...NOTHING, list: 'vector_store' };
    if (method !== 'POST') return NOTHING;
    return withBody(body, (b) => fileList(b?.file_ids, 'file_ids'), ['vector_store']);
  }
  const store = [at('vector_store', rest[0]!)];
  const sub = rest[1]?.toLowerCase();
  if (sub === 'files' && rest.length > 2) return { named: [...store, at('file', rest[2]!)], claims: [] };
  if (method !== 'POST' || rest.length !== 2) return { named: store, claims: [] };
  // Attaching a file, or a batch of them: the files must be the caller's.
  if (sub === 'files') return withBody(body, (b) => withStore(store, fileField(b?.file_id, 'file_id')), []);
  if (sub === 'file_batches') return withBody(body, (b) => withStore(store, batchFiles(b)), []);
  return { named: store, claims: [] };
}

function withStore(store: Named[], files: Named[] | AppError): Named[] | AppError {
  return files instanceof AppError ? files : [...store, ...files];
}

/** A file batch's files: `file_ids`, and each `files[i].file_id`. */
function batchFiles(b: Body): Named[] | AppError {
  const ids = fileList(b?.file_ids, 'file_ids');
  if (ids instanceof AppError) return ids;
  const files = b?.files;
  if (files === undefined || files === null) return ids;
  if (!Array.isArray(files)) return badId('files', 'a list of files');
  if (ids.length + files.length > MAX_NAMED) return tooMany();
  const named = [...ids];
  for (let i = 0; i < files.length; i++) {
    const file = fileField((files[i] as { file_id?: unknown } | null)?.file_id, `files[${i}].file_id`);
    if (file instanceof AppError) return file;
    named.push(...file);
  }
  return named;
}

function uploads(rest: readonly string[], method: string): StoreUse {
  if (rest.length > 0) return { named: [at('upload', rest[0]!)], claims: ['upload_file'] };
  return method === 'POST' ? { named: [], claims: ['upload'] } : NOTHING;
}

/** A body field naming one file, if present. */
function fileField(id: unknown, path: string): Named[] | AppError {
  if (id === undefined || id === null) return [];
  if (!isObjectId(id)) return badId(path, 'a file id');
  return [{ kind: 'file', id, location: 'body', path }];
}

/** A body field listing files by id, if present. */
function fileList(ids: unknown, path: string): Named[] | AppError {
  if (ids === undefined || ids === null) return [];
  if (!Array.isArray(ids)) return badId(path, 'a list of file ids');
  if (ids.length > MAX_NAMED) return tooMany();
  const named: Named[] = [];
  for (let i = 0; i < ids.length; i++) {
    const file = fileField(ids[i] ?? '', `${path}[${i}]`);
    if (file instanceof AppError) return file;
    named.push(...file);
  }
  return named;
}

/**
 * The stored objects a create's tools name (a Responses create): each `vector_store_ids` entry of a
 * `file_search` tool (the caller's own stores, or refused), the `file_ids` of a `code_interpreter`
 * tool's automatic container, and a container named by id (shared, SHARED_RESOURCES).
 */
export function toolObjects(tools: unknown, shares: boolean): Named[] | AppError {
  if (!Array.isArray(tools)) return [];
  const named: Named[] = [];
  for (let i = 0; i < tools.length; i++) {
    const tool: unknown = tools[i];
    if (!isRecord(tool)) continue;
    const stores = tool.vector_store_ids;
    if (stores !== undefined && stores !== null) {
      if (!Array.isArray(stores)) return badId(`tools[${i}].vector_store_ids`, 'a list of vector store ids');
      for (let j = 0; j < stores.length; j++) {
        const id: unknown = stores[j];
        if (!isObjectId(id)) return badId(`tools[${i}].vector_store_ids[${j}]`, 'a vector store id');
        named.push({
          kind: 'vector_store',
          id,
          location: 'body',
          path: `tools[${i}].vector_store_ids[${j}]`,
        });
      }
    }
    const container = tool.container;
    if (isRecord(container)) {
      const files = fileList(container.file_ids, `tools[${i}].container.file_ids`);
      if (files instanceof AppError) return files;
      named.push(...files);
    }
    if (!shares) {
      const fault = containerOf(typeof container === 'string' ? container : null, `tools[${i}].container`);
      if (fault) return fault;
    }
    if (named.length > MAX_NAMED) return tooMany();
  }
  return named;
}

/**
 * The files a Responses create's stored prompt is filled with: each `prompt.variables` value that is
 * an input part naming a `file_id` (`input_file`, `input_image`) — the provider reads it into the
 * prompt as it reads an input's.
 */
export function promptFiles(prompt: unknown): Named[] | AppError {
  const variables = isRecord(prompt) ? prompt.variables : undefined;
  if (!isRecord(variables)) return [];
  const named: Named[] = [];
  for (const [name, value] of Object.entries(variables)) {
    if (!isRecord(value) || value.file_id === undefined || value.file_id === null) continue;
    const file = fileField(value.file_id, `prompt.variables.${name}.file_id`);
    if (file instanceof AppError) return file;
    named.push(...file);
    if (named.length > MAX_NAMED) return tooMany();
  }
  return named;
}

/**
 * The refusal of a container named by id (an Anthropic Messages create's `container`, a string or
 * `{id}`; a code interpreter's string): shared (its callers check the connection shares them
 * first). Null when it names none.
 */
function containerOf(container: unknown, path: string): AppError | null {
  const id = isRecord(container) ? container.id : container;
  if (id === undefined || id === null) return null;
  return sharedFault({ location: 'body', path });
}

/** An Anthropic Messages create's `container` (reused code-execution state): refused unless shared. */
export function messagesContainer(body: Body, shares: boolean): AppError | null {
  return shares ? null : containerOf(body?.container, 'container');
}

function sharedFault(details: { location: 'body'; path: string } | { location: 'path' }): AppError {
  return new AppError('shared_object_refused', { details });
}
