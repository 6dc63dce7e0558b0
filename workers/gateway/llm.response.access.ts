/**
 * Stored LLM objects through the gateway (docs/llm-gateway.md#stored-objects): which ones a call
 * names, creates or lists — responses here; output items and the path resources read in
 * llm.objects.named.ts; the answer's claims and list filter in llm.objects.stage.ts. Pure.
 *
 * Why: every caller of an LLM connection reaches the provider with its one key, and the OpenAI
 * Responses API stores what it answers by default (`store: true`), addressable by id alone. A
 * caller naming another caller's response id — `previous_response_id` in a create (then "repeat
 * everything above" reads their conversation), or, where a rule allows passthrough,
 * `GET`/`DELETE /responses/{id}`, `…/input_items`, `…/cancel` — would read or change it. So the
 * connection's guard records who created each response the gateway relayed
 * (durable-objects/response.owners.ts: claimed from the answer, off the hot path) and the call
 * naming one is admitted only for its creator, in the admit round trip every call makes
 * (AdmitRequest.tasks, protocol `llm-response`). Anyone else, and any id not created through
 * the gateway, gets the answer an unknown id gets: 404 `response_not_found`, audited as a `deny`.
 *
 * Conversations (the Conversations API, `conversation` in a create, `/conversations/{id}…`) are
 * refused outright (`conversation_unverifiable`): they are created and extended outside the
 * Responses answers the gateway reads, so it cannot know who owns one; `previous_response_id`
 * carries a conversation as well.
 *
 * The same holds for the items of a response's output (named by id in a create's `input`), for
 * chat completions stored with `store: true` (`/chat/completions/{id}`, `…/messages`), for files
 * (`/files/{id}…`, a batch's `input_file_id`, a `file_id` in a prompt, Anthropic's included) and
 * batches (`/batches/{id}…`); their lists (`GET /chat/completions`, `/files`, `/batches`) are
 * filtered to the caller's own. Anthropic Message Batches, fine-tuning jobs, vector stores and
 * uploads the same way (llm.objects.stores.ts, which also refuses the objects nobody is recorded
 * for — Assistants, threads, containers… — unless the connection shares them).
 *
 * Fail closed on what is read: the path is read as a provider may route it (percent-decoded, empty
 * and `.` segments dropped, `..` resolved, keywords in any case: llm.passthrough-read.ts), a passthrough body that may
 * carry `previous_response_id` or `conversation` (a create by another spelling of its path,
 * `/responses/input_tokens`, `/responses/compact`) is parsed and judged like a create's, and a
 * `previous_response_id` the gateway cannot record (not a string, empty, too long) is refused.
 */

import type { AdmitRequest } from '../../durable-objects/guard.contract';
import {
  isObjectId,
  type ListedKind,
  MAX_OBJECT_ID,
  type OwnedKind,
  objectKey,
  objectOfKey,
} from '../../durable-objects/llm.objects';
import { echoId } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';
import type { BatchFile } from '../llm/llm.batch-models';
import { targetParts } from '../llm/llm.passthrough';
import { objectsAccess } from './llm.batch-input';
import {
  batchInput,
  type ClaimShape,
  inputFiles,
  inputItems,
  MAX_NAMED,
  type Named,
  resourceOf,
  tooMany,
} from './llm.objects.named';
import { messagesContainer, promptFiles, storeUse, toolObjects } from './llm.objects.stores';
import { passthroughBody, routedSegments } from './llm.passthrough-read';

export type { ClaimShape, ListedKind };

/**
 * What this module reads of an LLM request (llm.adapter.ts LlmRequest): its one unit's endpoint, body
 * and forwarded `METHOD /path`, the path after `/v1`, and a body not parsed (passthrough).
 */
export interface LlmRequestRead {
  units: readonly [
    { endpoint: string; body: Record<string, unknown> | null; forwarded?: { target: string } },
  ];
  upstreamPath: string;
  raw: Uint8Array | null;
  /** The connection's `settings.sharedProviderObjects`: its callers share what the gateway cannot tell the owner of. */
  sharesProviderObjects?: boolean;
  /** A batch input file uploaded (`POST /files`, `purpose=batch`): its lines (llm.batch-models.ts). */
  batchFile?: BatchFile | null;
  /** The connection's `allowedModels` globs: a batch create's input file is held to them (llm.batch-input.ts). */
  allowedModels?: readonly string[] | null;
}

/** What a call does with stored objects: the ids it names, what it creates or lists, or why it is refused. */
export interface ResponseUse {
  /** The object keys named (objectKey), in `named` order. */
  ids: string[];
  named: Named[];
  /** Where the first id was named (for the refusal's `details`). */
  where?: 'body' | 'path';
  /** The call stores a response (its id is claimed). */
  creates: boolean;
  /** The ids of the answer claimed for the caller. */
  claims: readonly ClaimShape[];
  /** A provider list filtered to the caller's own objects of this kind. */
  list?: ListedKind;
  /** A batch create: its input file's key (among `ids`), whose recorded models allowedModels holds. */
  batchInput?: string;
  fault: AppError | null;
}

const NONE: ResponseUse = { ids: [], named: [], creates: false, claims: [], fault: null };
/** Sub-paths of `/responses` that take a create's body fields rather than naming a response. */
const BODY_PATHS = new Set(['input_tokens', 'compact']);
const read = new WeakMap<LlmRequestRead, ResponseUse>();

/** The request's use of stored objects (read once per request). */
export function responseUse(parsed: LlmRequestRead | null): ResponseUse {
  if (!parsed) return NONE;
  let use = read.get(parsed);
  if (!use) {
    use = readUse(parsed);
    read.set(parsed, use);
  }
  return use;
}

function readUse(parsed: LlmRequestRead): ResponseUse {
  const unit = parsed.units[0];
  const method = targetParts(unit.forwarded?.target)?.method ?? 'POST';
  const shares = parsed.sharesProviderObjects === true;
  if (unit.endpoint === 'responses') return fromBody(unit.body, method === 'POST', shares);
  // Counting a create's input (`responses.input_tokens`, a catalog endpoint) reads the stored
  // objects it names just as the create would: judged alike, nothing created.
  if (unit.endpoint === 'responses.input_tokens') return fromBody(unit.body, false, shares);
  if (unit.endpoint === 'chat.completions') return chatCreate(unit.body);
  // Anthropic Messages (and their token count): the files a prompt names, nothing stored; a
  // container reused by id is shared state.
  if (unit.endpoint === 'messages' || unit.endpoint === 'messages.count_tokens') {
    const container = messagesContainer(unit.body, shares);
    if (container) return refused(container);
    const files = inputFiles(unit.body?.messages, 'messages');
    return files instanceof AppError ? refused(files) : named(files);
  }
  if (unit.endpoint !== 'passthrough') return NONE;
  const segments = routedSegments(parsed.upstreamPath);
  if (segments === null) return refused(invalidPath());
  const found = resourceOf(segments);
  if (!found) return NONE;
  const { resource, rest } = found;
  const stored = storeUse(resource, rest, method, () => passthroughBody(parsed.raw), shares);
  if (stored) {
    if (stored.fault) return refused(stored.fault);
    const use = named(stored.named);
    return use.fault ? use : { ...use, claims: stored.claims, ...(stored.list ? { list: stored.list } : {}) };
  }
  if (resource === 'conversations') return rest.length > 0 ? refused(conversation('path')) : NONE;
  if (resource === 'files' || resource === 'batches')
    return filesOrBatches(resource, rest, method, parsed, shares);
  if (resource === 'chat_completions') {
    if (rest.length > 0) return named([{ kind: 'chat_completion', id: rest[0]!, location: 'path' }]);
    if (method === 'GET') return { ...NONE, list: 'chat_completion' };
    if (method !== 'POST') return NONE;
    // A create by another spelling of its path (`POST /chat/completions/`).
    const body = passthroughBody(parsed.raw);
    return body instanceof AppError ? refused(body) : chatCreate(body);
  }
  const second = rest[0];
  if (second === undefined || (rest.length === 1 && BODY_PATHS.has(second.toLowerCase()))) {
    const body = passthroughBody(parsed.raw);
    if (body instanceof AppError) return refused(body);
    return fromBody(body, second === undefined && method === 'POST', shares);
  }
  return named([{ kind: 'response', id: second, location: 'path' }]);
}

/**
 * `previous_response_id`, the input items named by id and `conversation` of a create's body (or
 * one shaped like it). Every create claims its output items (even with `store: false`: a caller
 * passing its own answer's items back names their ids); one that stores claims its response.
 */
function fromBody(body: Record<string, unknown> | null, creates: boolean, shares: boolean): ResponseUse {
  const claims: ClaimShape[] = creates ? ['items'] : [];
  if (!body) return creates ? { ...NONE, creates, claims: ['response', ...claims] } : NONE;
  if (body.conversation !== undefined && body.conversation !== null) return refused(conversation('body'));
  // `store: false`: the provider keeps nothing, so there is no response to record.
  const stores = creates && body.store !== false;
  if (stores) claims.unshift('response');
  const items = inputItems(body.input);
  if (items instanceof AppError) return refused(items);
  const files = inputFiles(body.input, 'input');
  if (files instanceof AppError) return refused(files);
  // The vector stores a file_search tool searches, a code interpreter's files and container.
  const tools = toolObjects(body.tools, shares);
  if (tools instanceof AppError) return refused(tools);
  // A stored prompt's variables may be files too.
  const prompted = promptFiles(body.prompt);
  if (prompted instanceof AppError) return refused(prompted);
  const previous = body.previous_response_id;
  const all: Named[] = [];
  if (previous !== undefined && previous !== null) {
    if (!isObjectId(previous)) {
      return refused(
        new AppError('validation_failed', {
          message: `previous_response_id must be a response id: a string of 1 to ${MAX_OBJECT_ID} characters`,
          details: { location: 'body', path: 'previous_response_id' },
        }),
      );
    }
    all.push({ kind: 'response', id: previous, location: 'body', path: 'previous_response_id' });
  }
  all.push(...items, ...files, ...tools, ...prompted);
  return { ...named(all), creates: stores, claims };
}

/**
 * A chat completion create: the files its messages name; stored (its id claimed) only with
 * `store: true`, as the API defaults.
 */
function chatCreate(body: Record<string, unknown> | null): ResponseUse {
  const files = inputFiles(body?.messages, 'messages');
  if (files instanceof AppError) return refused(files);
  return { ...named(files), claims: body?.store === true ? ['chat_completion'] : [] };
}

/**
 * `/files…` and `/batches…`: a path id is named (retrieve, delete, content, cancel); a list is
 * filtered; an upload claims its file; a batch create names its input file and claims the batch.
 * Every answer about the caller's batches claims their output and error files for it.
 */
function filesOrBatches(
  resource: 'files' | 'batches',
  rest: readonly string[],
  method: string,
  parsed: LlmRequestRead,
  shares: boolean,
): ResponseUse {
  const kind = resource === 'files' ? 'file' : 'batch';
  const outputs: ClaimShape[] = kind === 'batch' ? ['batch_files'] : [];
  if (rest.length > 0) return { ...named([{ kind, id: rest[0]!, location: 'path' }]), claims: outputs };
  if (method === 'GET') return { ...NONE, list: kind, claims: outputs };
  if (method !== 'POST') return NONE;
  // An upload claims its file; a batch input file's lines name what its requests will read.
  if (kind === 'file') return batchFileUse(parsed.batchFile ?? null, shares);
  const body = passthroughBody(parsed.raw);
  if (body instanceof AppError) return refused(body);
  const input = batchInput(body);
  if (input instanceof AppError) return refused(input);
  const use = named(input);
  return { ...use, claims: ['batch', 'batch_files'], ...(use.ids[0] ? { batchInput: use.ids[0] } : {}) };
}

/**
 * A batch input file's requests run as the calls they describe, under the caller's key: what a
 * Responses create names (`previous_response_id`, input items, files, vector stores) and what a chat
 * create names (its messages' files) are owner-checked for every request that parses, whatever its
 * `url` says (read both ways, so no spelling of the url steps around it) and whatever else the file
 * holds. Nothing uploaded for another purpose is read.
 */
function batchFileUse(file: BatchFile | null, shares: boolean): ResponseUse {
  const claims: ClaimShape[] = ['file'];
  if (!file) return { ...NONE, claims };
  const all: Named[] = [];
  for (const [i, line] of file.lines.entries()) {
    const body = isRecord(line.body) ? line.body : null;
    if (!body) continue;
    for (const use of [fromBody(body, false, shares), chatCreate(body)]) {
      if (use.fault) return refused(inRequest(use.fault, i));
      for (const n of use.named) all.push({ ...n, path: `file request ${i + 1}: ${n.path ?? n.location}` });
    }
    if (all.length > MAX_NAMED) return refused(tooMany());
  }
  return { ...named(all), claims };
}

/** A batch request's refusal says which request. */
function inRequest(err: AppError, i: number): AppError {
  const details = (err.details ?? {}) as Record<string, unknown>;
  return new AppError(err.code, {
    message: `Request ${i + 1} of the batch input file: ${err.message}`,
    details: { ...details, path: `file request ${i + 1}: ${String(details.path ?? '')}` },
  });
}

function named(list: Named[]): ResponseUse {
  if (list.length > MAX_NAMED) return refused(tooMany());
  const long = list.find((n) => n.id.length > MAX_OBJECT_ID);
  // A path id longer than any recorded one names nothing the caller created: not found.
  if (long) return refused(notFound(long.kind, long.id.slice(0, MAX_OBJECT_ID), long));
  return {
    ...NONE,
    ids: list.map((n) => objectKey(n.kind, n.id)),
    named: list,
    ...(list[0] ? { where: list[0].location } : {}),
  };
}

function refused(fault: AppError): ResponseUse {
  return { ...NONE, fault };
}

function invalidPath(): AppError {
  return new AppError('validation_failed', {
    message: 'The path is not percent-encoded UTF-8',
    details: { location: 'path' },
  });
}

function conversation(where: 'body' | 'path'): AppError {
  return new AppError('conversation_unverifiable', {
    details: where === 'body' ? { location: 'body', path: 'conversation' } : { location: 'path' },
  });
}

/** What the provider calls each kind, in its not-found message. */
const NOUNS: Record<OwnedKind, string> = {
  response: 'response',
  item: 'item',
  chat_completion: 'chat completion',
  file: 'file',
  batch: 'batch',
  message_batch: 'message batch',
  fine_tuning_job: 'fine-tuning job',
  vector_store: 'vector store',
  upload: 'upload',
};

function notFound(kind: OwnedKind, id: string, where: Pick<Named, 'location' | 'path'>): AppError {
  return new AppError(kind === 'response' ? 'response_not_found' : 'object_not_found', {
    // The id as the caller sent it (bounded; hidden if a credential detector knows it,
    // lib/echo.safe.ts), and nothing about whether anyone else owns it.
    message: `No ${NOUNS[kind]} found with id ${JSON.stringify(echoId(id))}.`,
    details:
      where.location === 'body' ? { location: 'body', path: where.path ?? 'input' } : { location: 'path' },
  });
}

/**
 * The admit's ownership check (AdmitRequest.tasks) for a call naming stored objects, or listing
 * them; none otherwise.
 */
export function responseAccess(parsed: LlmRequestRead | null): AdmitRequest['tasks'] {
  const { ids, list, batchInput: input } = responseUse(parsed);
  if (list) return { protocol: 'llm-response', list: true, objects: list };
  return objectsAccess(ids, input, parsed?.allowedModels);
}

/**
 * The guard's refusal in the provider's words, naming the id it refused (`details.key`, from the
 * admit's verdict), else the first the call named. An older guard answers an object key it does not
 * know as a task (`task_not_found`): the same refusal.
 */
export function withResponseId(err: AppError, parsed: LlmRequestRead | null): AppError {
  if (err.code !== 'response_not_found' && err.code !== 'task_not_found') return err;
  const { ids, named } = responseUse(parsed);
  const key = (err.details as { key?: unknown } | undefined)?.key;
  const at = Math.max(0, typeof key === 'string' ? ids.indexOf(key) : 0);
  const which = named[at];
  if (!which) return err;
  return notFound(which.kind, objectOfKey(ids[at]!).id, which);
}
