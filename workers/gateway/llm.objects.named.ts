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
 *   a path                         the first segment naming a resource the gateway owns
 *                                  (`responses`, `conversations`, `chat/completions`), and what
 *                                  follows it
 *
 * An id the gateway cannot record (not a string of 1 to MAX_OBJECT_ID characters) is a fault;
 * more than MAX_NAMED ids in one call is a fault (each is one lookup in the guard).
 */
import { isObjectId, MAX_OBJECT_ID, type OwnedKind } from '../../durable-objects/llm.objects';
import { AppError } from '../lib/errors';
import { isRecord } from '../lib/values';

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

/** The resources whose ids a path may name; `chat` only followed by `completions`. */
export type Resource = 'responses' | 'conversations' | 'chat_completions';

/**
 * The first segment of `segments` (as routedSegments reads them) that names a resource, and the
 * segments after it; null when none does. Wherever it appears (`/v1/responses/…` on a base URL
 * without the version, Azure's `/openai/responses/…`) and in any case: a segment that may name a
 * stored object is judged, never skipped.
 */
export function resourceOf(segments: readonly string[]): { resource: Resource; rest: string[] } | null {
  for (let i = 0; i < segments.length; i++) {
    const s = segments[i]!.toLowerCase();
    if (s === 'responses' || s === 'conversations') return { resource: s, rest: segments.slice(i + 1) };
    if (s === 'chat' && segments[i + 1]?.toLowerCase() === 'completions')
      return { resource: 'chat_completions', rest: segments.slice(i + 2) };
  }
  return null;
}
