/**
 * Stored LLM responses through the gateway (docs/llm-gateway.md#stored-responses). Pure, but for
 * noting a claim in flight (gateway.claims.ts, memory of this isolate).
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
 * Fail closed on what is read: the path is read as a provider may route it (percent-decoded, empty
 * and `.` segments dropped, `..` resolved, keywords in any case), a passthrough body that may
 * carry `previous_response_id` or `conversation` (a create by another spelling of its path,
 * `/responses/input_tokens`, `/responses/compact`) is parsed and judged like a create's, and a
 * `previous_response_id` the gateway cannot record (not a string, empty, too long) is refused.
 */

import type { AdmitRequest } from '../../durable-objects/guard.contract';
import { MAX_RESPONSE_ID, RESPONSE_CREATED, RESPONSE_STAGE } from '../../durable-objects/response.owners';
import { AppError } from '../lib/errors';
import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values';
import { targetParts } from '../llm/llm.passthrough';
import { parseLlmBody } from '../llm/llm.request';
import { claimPending } from './gateway.claims';
import type { ResponseStage, StageCall } from './gateway.stages';

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
}

/** What a call does with stored responses: the ids it names, whether it creates one, or why it is refused. */
export interface ResponseUse {
  ids: string[];
  /** Where the ids were named (for the refusal's `details`). */
  where?: 'body' | 'path';
  creates: boolean;
  fault: AppError | null;
}

const NONE: ResponseUse = { ids: [], creates: false, fault: null };
/** Sub-paths of `/responses` that take a create's body fields rather than naming a response. */
const BODY_PATHS = new Set(['input_tokens', 'compact']);
/** Path segments after which a segment names a stored object. */
const RESOURCES = new Set(['responses', 'conversations']);
/** Percent-decoding rounds: a provider (or a proxy before it) may decode more than once. */
const DECODE_ROUNDS = 3;
const read = new WeakMap<LlmRequestRead, ResponseUse>();

/** The request's use of stored responses (read once per request). */
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
  if (unit.endpoint === 'responses') return fromBody(unit.body, method === 'POST');
  // Counting a create's input (`responses.input_tokens`, a catalog endpoint) reads the stored
  // response it continues just as the create would: judged alike, nothing created.
  if (unit.endpoint === 'responses.input_tokens') return fromBody(unit.body, false);
  if (unit.endpoint !== 'passthrough') return NONE;
  const segments = routedSegments(parsed.upstreamPath);
  if (segments === null) return refused(invalidPath());
  // Wherever the resource appears (`/v1/responses/…` on a base URL without the version, an Azure
  // `/openai/responses/…`): a segment that may name a stored object is judged, never skipped.
  const at = segments.findIndex((s) => RESOURCES.has(s.toLowerCase()));
  if (at < 0) return NONE;
  const rest = segments.slice(at + 1);
  if (segments[at]!.toLowerCase() === 'conversations') {
    return rest.length > 0 ? refused(conversation('path')) : NONE;
  }
  const second = rest[0];
  if (second === undefined || (rest.length === 1 && BODY_PATHS.has(second.toLowerCase()))) {
    const body = passthroughBody(parsed.raw);
    if (body instanceof AppError) return refused(body);
    return fromBody(body, second === undefined && method === 'POST');
  }
  return named(second, 'path');
}

/** `previous_response_id` and `conversation` of a create's body (or one shaped like it). */
function fromBody(body: Record<string, unknown> | null, creates: boolean): ResponseUse {
  if (!body) return creates ? { ...NONE, creates } : NONE;
  if (body.conversation !== undefined && body.conversation !== null) return refused(conversation('body'));
  // `store: false`: the provider keeps nothing, so there is nothing to record.
  const stores = creates && body.store !== false;
  const previous = body.previous_response_id;
  if (previous === undefined || previous === null) return { ...NONE, creates: stores };
  if (typeof previous !== 'string' || previous === '' || previous.length > MAX_RESPONSE_ID) {
    return refused(
      new AppError('validation_failed', {
        message: `previous_response_id must be a response id: a string of 1 to ${MAX_RESPONSE_ID} characters`,
        details: { location: 'body', path: 'previous_response_id' },
      }),
    );
  }
  return { ...named(previous, 'body'), creates: stores };
}

function named(id: string, where: 'body' | 'path'): ResponseUse {
  if (id.length > MAX_RESPONSE_ID) return refused(notFound(id.slice(0, MAX_RESPONSE_ID), where));
  return { ids: [id], where, creates: false, fault: null };
}

function refused(fault: AppError): ResponseUse {
  return { ids: [], creates: false, fault };
}

/**
 * The path's segments as a provider may route them: percent-decoded until nothing changes (at most
 * DECODE_ROUNDS times: `%252F` is `/` to a server that decodes twice), empty and `.` segments
 * dropped, `..` resolved, `\` read as `/`. Null when it does not decode, or not within the rounds
 * (no reading to agree on). Linear: each round is one pass over a string no longer than the path.
 */
export function routedSegments(path: string): string[] | null {
  let decoded = path;
  for (let round = 0; ; round++) {
    let next: string;
    try {
      next = decodeURIComponent(decoded);
    } catch {
      return null;
    }
    if (next === decoded) break;
    if (round === DECODE_ROUNDS) return null;
    decoded = next;
  }
  const out: string[] = [];
  for (const segment of decoded.split(/[/\\]/)) {
    if (segment === '' || segment === '.') continue;
    if (segment === '..') out.pop();
    else out.push(segment);
  }
  return out;
}

/** A passthrough body read as the provider would read a create's (parseLlmBody: limits, strict UTF-8). */
function passthroughBody(raw: Uint8Array | null): Record<string, unknown> | null | AppError {
  if (!raw || raw.byteLength === 0) return null;
  try {
    return parseLlmBody(raw);
  } catch (err) {
    return err instanceof AppError ? err : new AppError('parse_error', { details: { location: 'body' } });
  }
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

function notFound(id: string, where: 'body' | 'path'): AppError {
  return new AppError('response_not_found', {
    // The id as the caller sent it, and nothing about whether anyone else owns it.
    message: `No response found with id ${JSON.stringify(id)}.`,
    details: where === 'body' ? { location: 'body', path: 'previous_response_id' } : { location: 'path' },
  });
}

/** The admit's ownership check (AdmitRequest.tasks) for a call naming stored responses; none otherwise. */
export function responseAccess(parsed: LlmRequestRead | null): AdmitRequest['tasks'] {
  const { ids } = responseUse(parsed);
  return ids.length > 0 ? { protocol: 'llm-response', ids } : undefined;
}

/**
 * The guard's refusal in the provider's words, naming the id the caller sent. An older guard
 * answers a response id it does not know as a task (`task_not_found`): the same refusal.
 */
export function withResponseId(err: AppError, parsed: LlmRequestRead | null): AppError {
  if (err.code !== 'response_not_found' && err.code !== 'task_not_found') return err;
  const { ids, where } = responseUse(parsed);
  return ids[0] === undefined ? err : notFound(ids[0], where ?? 'body');
}

/**
 * Response stage of a create that stores its response: the created id (a JSON answer's
 * `{object: "response", id}`, a stream event's `response`) becomes an `llm_response` /
 * `response_created` finding, which the guard claims for the call's caller with the outcome —
 * noted as in flight until then (gateway.claims.ts). Changes nothing; one id per call.
 */
export function responseClaimStage(call: StageCall, parsed: LlmRequestRead | null): ResponseStage | null {
  if (!responseUse(parsed).creates) return null;
  let claimed = false;
  return {
    name: RESPONSE_STAGE,
    wants: (raw) => !claimed && mayHaveKey(raw, 'id'),
    done: () => claimed,
    onMessage(message) {
      if (claimed || !isRecord(message)) return undefined;
      const response = message.object === 'response' ? message : message.response;
      if (!isRecord(response) || response.object !== 'response') return undefined;
      const id = response.id;
      // A longer id is not recorded: a call naming it is refused (fail closed).
      if (typeof id !== 'string' || id === '' || id.length > MAX_RESPONSE_ID) return undefined;
      claimed = true;
      call.findings.push({
        stage: RESPONSE_STAGE,
        kind: RESPONSE_CREATED,
        severity: 'info',
        detail: { responseId: id },
      });
      claimPending(call, id);
      return undefined;
    },
  };
}
