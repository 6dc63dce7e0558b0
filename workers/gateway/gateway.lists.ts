/**
 * Policy on the way back: list results show only what **this caller** may use.
 *
 * Why: an agent picks tools from `tools/list`; listing a tool its calls would be denied invites
 * failing calls and discloses what the upstream offers. Each item is evaluated exactly like a call
 * to it by the same caller (its user, teams and metadata; `couldAllowCaller`, policy.evaluate.ts):
 * an item whose decision is deny for this caller is hidden, so with `delete_*` denied for
 * `metadata.role = intern` and allowed for `admin`, an intern's list omits `delete_thing` and an
 * admin's shows it. (Without a caller — `new ListFilter(policy, pending)` — the older question
 * "could any caller ever be allowed" is asked, `couldEverAllow`.) Hiding is not the enforcement;
 * the call-time decision is.
 *
 *   tools/list      result.tools[].name
 *   resources/list  result.resources[].uri   → `resource:<uri>`
 *   prompts/list    result.prompts[].name    → `prompt:<name>`
 * `resources/templates/list` is passed unchanged: a template is not a resource a rule can be
 * evaluated against (its concrete URIs are decided on `resources/read`).
 *
 * Only the response to the list request's own JSON-RPC id is rewritten; everything else in the
 * stream (progress, server requests, other responses) passes through byte for byte, and SSE
 * events are re-emitted as they arrive (gateway.sse.ts). A JSON body is small and complete, so
 * it is read whole (up to a cap: gateway.rewrite.ts). On a GET stream (resumed with
 * `Last-Event-ID` or not) the gateway does not know which ids were list requests, so responses
 * there are recognised by shape instead.
 */

import { mayHaveKey } from '../lib/json.keys';
import { isRecord } from '../lib/values.js';
import { type CompiledPolicy, couldAllowCaller, couldEverAllow } from '../policy/policy.evaluate.js';
import { PROMPT_PREFIX, RESOURCE_PREFIX } from '../policy/policy.methods.js';
import type { JsonRpcMessage } from './gateway.jsonrpc.js';
import { rewriteResponse } from './gateway.rewrite.js';
import type { ResponseStage } from './gateway.stages.js';

export type ListMethod = 'tools/list' | 'resources/list' | 'prompts/list';

interface ListShape {
  key: 'tools' | 'resources' | 'prompts';
  /** The governed name of one listed item, or null when the item has no usable name. */
  governedName(item: Record<string, unknown>): string | null;
}

const LISTS: Readonly<Record<ListMethod, ListShape>> = {
  'tools/list': {
    key: 'tools',
    governedName: (item) => (typeof item.name === 'string' && item.name !== '' ? item.name : null),
  },
  'resources/list': {
    key: 'resources',
    governedName: (item) =>
      typeof item.uri === 'string' && item.uri !== '' ? RESOURCE_PREFIX + item.uri : null,
  },
  'prompts/list': {
    key: 'prompts',
    governedName: (item) =>
      typeof item.name === 'string' && item.name !== '' ? PROMPT_PREFIX + item.name : null,
  },
};

function isListMethod(method: string | undefined): method is ListMethod {
  return method !== undefined && Object.hasOwn(LISTS, method);
}

/** JSON text of an id, so that 1 and "1" stay different keys. */
function idKey(id: unknown): string {
  return JSON.stringify(id);
}

/** The list requests of a POST body, by id: the responses that must be filtered. */
export function pendingLists(messages: readonly JsonRpcMessage[]): Map<string, ListMethod> {
  const pending = new Map<string, ListMethod>();
  for (const message of messages) {
    if (message.id !== undefined && message.id !== null && isListMethod(message.method)) {
      pending.set(idKey(message.id), message.method);
    }
  }
  return pending;
}

export interface FilteredList {
  result: Record<string, unknown>;
  hidden: number;
}

/**
 * The result without the items `canAllow` rejects; items without a usable name are dropped too
 * (the gateway could never forward a call to them). Null when the result has no such list.
 */
export function filterListResult(
  method: ListMethod,
  result: unknown,
  canAllow: (governedName: string) => boolean,
): FilteredList | null {
  const shape = LISTS[method];
  if (!isRecord(result) || !Array.isArray(result[shape.key])) return null;
  const items = result[shape.key] as unknown[];
  const kept = items.filter((item) => {
    const name = isRecord(item) ? shape.governedName(item) : null;
    return name !== null && canAllow(name);
  });
  return { result: { ...result, [shape.key]: kept }, hidden: items.length - kept.length };
}

/** A list method recognised from a result's shape (for GET streams, where ids are unknown). */
function listMethodByShape(result: unknown): ListMethod | null {
  if (!isRecord(result)) return null;
  for (const method of Object.keys(LISTS) as ListMethod[]) {
    if (Array.isArray(result[LISTS[method].key])) return method;
  }
  return null;
}

/**
 * The list filter as a response stage (gateway.stages.ts): the rewriter hands it each message of
 * the answer (batch items one by one) and it rewrites the responses to the pending list requests.
 */
export class ListFilter implements ResponseStage {
  readonly name = 'list_filter';
  readonly #pending: Map<string, ListMethod> | null;
  readonly #canAllow: (name: string) => boolean;
  hidden = 0;

  /**
   * `pending` null = match responses by shape (GET streams). `caller`: the identity the
   * items are evaluated for; without it, an item is kept when any caller could be allowed.
   */
  constructor(policy: CompiledPolicy, pending: Map<string, ListMethod> | null, caller?: ListCaller) {
    this.#pending = pending;
    this.#canAllow = caller
      ? // Arguments are unknown in a list: a rule conditioned on them may apply (couldAllowCaller).
        (name) =>
          couldAllowCaller(policy, {
            tool: name,
            user: caller.user,
            teams: caller.teams,
            metadata: caller.metadata,
            annotations: caller.annotationsOf?.(name) ?? null,
          })
      : (name) => couldEverAllow(policy, name);
  }

  /** Nothing (more) to filter: the rest of the body can pass untouched. */
  done(): boolean {
    return this.#pending !== null && this.#pending.size === 0;
  }

  /** Cheap pre-check: only events that can hold a JSON-RPC response are parsed. */
  wants(raw: string): boolean {
    return mayHaveKey(raw, 'id');
  }

  /** A JSON-RPC response with its list result filtered, or undefined when nothing changed. */
  onMessage(value: unknown): unknown {
    if (!isRecord(value) || !('id' in value) || 'method' in value) return undefined;
    const method = this.#methodFor(value);
    if (method === null || !('result' in value)) return undefined;
    const filtered = filterListResult(method, value.result, this.#canAllow);
    if (filtered === null) return undefined;
    this.hidden += filtered.hidden;
    return filtered.hidden === 0 ? undefined : { ...value, result: filtered.result };
  }

  /** Which list this response answers; an answered id stops being pending (errors included). */
  #methodFor(response: Record<string, unknown>): ListMethod | null {
    if (this.#pending === null) return listMethodByShape(response.result);
    const key = idKey(response.id);
    const method = this.#pending.get(key) ?? null;
    this.#pending.delete(key);
    return method;
  }

  /** The response with list results filtered: JSON read whole, SSE rewritten event by event. */
  apply(response: Response): Promise<Response> {
    return rewriteResponse(response, { stages: [this] });
  }
}

/**
 * The MCP adapter's list-filter stage for one call: POST — the responses to the body's list
 * requests, by id; a GET stream (resumed or not: mcp.adapter.ts) may carry a list response,
 * recognised by shape. Null when the call has no list request to filter.
 */
export function listFilterStage(
  policy: CompiledPolicy,
  pending: Map<string, ListMethod> | null,
  caller: ListCaller,
): ListFilter | null {
  if (pending !== null && pending.size === 0) return null;
  return new ListFilter(policy, pending, caller);
}

/** Who is listing: the same fields a call's decision reads (gateway.decide.ts). */
export interface ListCaller {
  user: string | null;
  metadata: Readonly<Record<string, unknown>> | null;
  teams?: readonly string[] | undefined;
  /** A tool's pinned annotations (`annotations.*` conditions; integrity state), or null. */
  annotationsOf?: ((name: string) => Readonly<Record<string, boolean>> | null) | undefined;
}
