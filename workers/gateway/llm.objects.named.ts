/**
 * Which stored LLM objects a request's body or path names, besides `previous_response_id`
 * (llm.response.access.ts puts them together; docs/llm-gateway.md#stored-objects). Pure.
 *
 *   a Responses create's `input`   each item carrying an `id` — an `item_reference` (`{type:
 *                                  "item_reference", id}`, or `{id}` alone, which the API reads as
 *                                  one), or an item passed back whole (a message, a reasoning or
 *                                  function-call item…) — names that output item; the provider
 *                                  may read an item by its id from its store, whatever else the
 *                                  item carries
 *   a create's files               `file_id` of an input's content parts (inputFiles), a batch's
 *                                  `input_file_id` (batchInput)
 *   a path                         the first segment naming a resource the gateway owns
 *                                  (`responses`, `conversations`, `chat/completions`, `files`,
 *                                  `batches`, `messages/batches`, `fine_tuning/jobs`,
 *                                  `vector_stores`, `uploads`) or cannot tell the owner of
 *                                  (SHARED_RESOURCES), and what follows it
 *
 * An id the gateway cannot record (not a string of 1 to MAX_OBJECT_ID characters) is a fault;
 * more than MAX_NAMED ids in one call is a fault (each is one lookup in the guard).
 */
import { isObjectId, MAX_OBJECT_ID, type OwnedKind } from '../../durable-objects/llm.objects';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';

/**
 * The ids an answer hands its caller, claimed for it (llm.objects.stage.ts, llm.objects.claims.ts):
 * the object a create makes, and `batch_files`, `fine_tuning_files`, `upload_file` — the files an
 * answer about the caller's batches, jobs or upload names.
 */
export type ClaimShape =
  | 'response'
  | 'items'
  | 'chat_completion'
  | 'file'
  | 'batch'
  | 'batch_files'
  | 'message_batch'
  | 'fine_tuning_job'
  | 'fine_tuning_files'
  | 'vector_store'
  | 'upload'
  | 'upload_file';

/** Ids one call may name: each is a primary-key lookup in the guard's admit. */
export const MAX_NAMED = 1_000;

/** An object a request names, and where (for the refusal's `details`). */
export interface Named {
  kind: OwnedKind;
  id: string;
  location: 'body' | 'path';
  /** The body field, for `location: "body"`. */
  path?: string;
}

/** The output items a Responses create's `input` names by id, or why it cannot be judged. */
export function inputItems(input: unknown): Named[] | AppError {
  if (!Array.isArray(input)) return [];
  const named: Named[] = [];
  const seen = new Set<string>();
  for (let i = 0; i < input.length; i++) {
    const item: unknown = input[i];
    if (!isRecord(item) || item.id === undefined || item.id === null) continue;
    const path = `input[${i}].id`;
    if (!isObjectId(item.id)) {
      return new AppError('validation_failed', {
        message: `An input item's id must be an item id: a string of 1 to ${MAX_OBJECT_ID} characters`,
        details: { location: 'body', path },
      });
    }
    if (seen.has(item.id)) continue;
    seen.add(item.id);
    if (seen.size > MAX_NAMED) return tooMany();
    named.push({ kind: 'item', id: item.id, location: 'body', path });
  }
  return named;
}

export function tooMany(): AppError {
  return new AppError('validation_failed', {
    message: `A call may name at most ${MAX_NAMED} stored objects (items, responses, files) by id`,
    details: { location: 'body', path: 'input' },
  });
}

/**
 * The files a create's input names by id — the provider reads the file into the prompt: in each
 * item's or message's content parts, and in the parts of a part's own `content` (an Anthropic
 * `tool_result`), a `file_id` (Responses `input_file`, `input_image`), `file.file_id` (a chat
 * `{type: "file"}` part) or `source.file_id` (an Anthropic `document` or `image` from the Files API).
 * Fault as inputItems.
 */
export function inputFiles(list: unknown, field: string): Named[] | AppError {
  if (!Array.isArray(list)) return [];
  const named: Named[] = [];
  for (let i = 0; i < list.length; i++) {
    const fault = partFiles((list[i] as { content?: unknown } | null)?.content, `${field}[${i}]`, named, 1);
    if (fault) return fault;
  }
  return named;
}

/** Where a content part may name a file. */
const FILE_FIELDS = [
  [null, 'file_id'],
  ['file', 'file_id'],
  ['source', 'file_id'],
] as const;

function partFiles(content: unknown, at: string, named: Named[], depth: number): AppError | null {
  if (!Array.isArray(content)) return null;
  for (let j = 0; j < content.length; j++) {
    const part: unknown = content[j];
    if (!isRecord(part)) continue;
    for (const [outer, field] of FILE_FIELDS) {
      const holder = outer === null ? part : part[outer];
      const id = isRecord(holder) ? holder[field] : undefined;
      if (id === undefined || id === null) continue;
      const path = `${at}.content[${j}].${outer === null ? '' : `${outer}.`}${field}`;
      if (!isObjectId(id)) return badId(path, 'a file id');
      if (named.length >= MAX_NAMED) return tooMany();
      named.push({ kind: 'file', id, location: 'body', path });
    }
    if (depth > 0) {
      const fault = partFiles(part.content, `${at}.content[${j}]`, named, depth - 1);
      if (fault) return fault;
    }
  }
  return null;
}

/** A batch create's `input_file_id`, the file it runs: the caller's own, or refused. */
export function batchInput(body: Record<string, unknown> | null): Named[] | AppError {
  const id = body?.input_file_id;
  if (id === undefined || id === null) return [];
  if (!isObjectId(id)) return badId('input_file_id', 'a file id');
  return [{ kind: 'file', id, location: 'body', path: 'input_file_id' }];
}

export function badId(path: string, what: string): AppError {
  return new AppError('validation_failed', {
    message: `${path} must be ${what}: a string of 1 to ${MAX_OBJECT_ID} characters`,
    details: { location: 'body', path },
  });
}

/**
 * The resources whose ids a path may name; `chat` only followed by `completions`, `batches` after
 * `messages` is Anthropic's Message Batches, `fine_tuning` only followed by `jobs`; `messages` alone
 * (or followed by `count_tokens`) is a Messages create by another spelling. `shared`: a
 * resource whose owner the gateway cannot tell (SHARED_RESOURCES).
 */
export type Resource =
  | 'responses'
  | 'conversations'
  | 'chat_completions'
  | 'files'
  | 'batches'
  | 'message_batches'
  | 'fine_tuning_jobs'
  | 'vector_stores'
  | 'uploads'
  | 'messages'
  | 'shared';

const SIMPLE = new Set(['responses', 'conversations', 'files', 'batches', 'vector_stores', 'uploads']);

/**
 * Stored objects the gateway records no creator for: Assistants (and their files), threads with
 * their messages and runs, containers (code interpreter's, with their files), evals and their
 * runs, videos. Refused unless the connection lets its callers share them
 * (llm.objects.stores.ts).
 */
export const SHARED_RESOURCES = new Set(['assistants', 'threads', 'containers', 'evals', 'videos']);

/** Pairs of segments naming one resource. */
const PAIRS: Record<string, [string, Resource]> = {
  chat: ['completions', 'chat_completions'],
  messages: ['batches', 'message_batches'],
  fine_tuning: ['jobs', 'fine_tuning_jobs'],
};

/**
 * The first segment of `segments` (as routedSegments reads them) that names a resource, and the
 * segments after it; null when none does. Wherever it appears (`/v1/responses/…` on a base URL
 * without the version, Azure's `/openai/responses/…`) and in any case: a segment that may name a
 * stored object is judged, never skipped. The first wins: `/vector_stores/{vs}/files/{id}` names
 * the vector store (and the file, llm.objects.stores.ts).
 */
export function resourceOf(segments: readonly string[]): { resource: Resource; rest: string[] } | null {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!.toLowerCase();
    const pair = PAIRS[s];
    if (pair && segments[i + 1]?.toLowerCase() === pair[0])
      return { resource: pair[1], rest: segments.slice(i + 2) };
    if (SIMPLE.has(s)) return { resource: s as Resource, rest: segments.slice(i + 1) };
    // An Anthropic Messages create (or count) by another spelling of its path (`/messages/`).
    if (s === 'messages' && isMessagesCreate(segments.slice(i + 1)))
      return { resource: 'messages', rest: segments.slice(i + 1) };
    if (SHARED_RESOURCES.has(s)) return { resource: 'shared', rest: segments.slice(i + 1) };
  }
  return null;
}

function isMessagesCreate(rest: readonly string[]): boolean {
  return rest.length === 0 || (rest.length === 1 && rest[0]!.toLowerCase() === 'count_tokens');
}
