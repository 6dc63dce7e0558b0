/**
 * Which JSON-RPC methods the policy governs, and the name it decides on.
 *
 * Lifecycle (initialize, ping, notifications/*) and list methods are not governed; list
 * results are filtered separately with couldEverAllow. Methods outside both lists are unknown
 * (classifyMethod) and refused by the gateway. Resource and prompt names are
 * namespaced (`resource:`, `prompt:`) so one glob language covers all three kinds.
 */
import { isRecord } from '../lib/values.js';

export const GOVERNED_METHODS = [
  'tools/call',
  'resources/read',
  'resources/subscribe',
  'prompts/get',
  'completion/complete',
] as const;
export type GovernedMethod = (typeof GOVERNED_METHODS)[number];

export const RESOURCE_PREFIX = 'resource:';
export const PROMPT_PREFIX = 'prompt:';

export type GovernedNameResult =
  | { kind: 'ungoverned' }
  | { kind: 'governed'; name: string }
  /** A governed method whose params do not carry a usable name: must be refused, never forwarded. */
  | { kind: 'invalid'; message: string };

export function isGovernedMethod(method: string): method is GovernedMethod {
  return (GOVERNED_METHODS as readonly string[]).includes(method);
}

/**
 * Every other method a client may send a server, by the MCP revisions the gateway speaks
 * (2025-03-26 … 2025-11-25 and 2026-07-28): forwarded without a policy decision. Lists are
 * filtered on the way back; `resources/unsubscribe` only narrows what the caller receives; the
 * `tasks/*` methods reach a task whose creating call was already decided, and only its creator
 * may address it (owner-checked by the guard: workers/gateway/mcp.task.access.ts). Methods servers send
 * clients (`sampling/createMessage`, `elicitation/create`, `roots/list`, server notifications)
 * are not here: a client has no reason to send them upstream.
 */
export const UNGOVERNED_METHODS: ReadonlySet<string> = new Set([
  // Lifecycle and utilities.
  'initialize',
  'ping',
  'logging/setLevel',
  'notifications/initialized',
  'notifications/cancelled',
  'notifications/progress',
  'notifications/roots/list_changed',
  // Listing (filtered on the way back, gateway.lists.ts).
  'tools/list',
  'resources/list',
  'resources/templates/list',
  'prompts/list',
  'resources/unsubscribe',
  // Tasks (2025-11-25; tasks/update from SEP-2663).
  'tasks/get',
  'tasks/result',
  'tasks/list',
  'tasks/cancel',
  'tasks/update',
  'notifications/tasks/status',
  // 2026-07-28.
  'server/discover',
  'subscriptions/listen',
]);

export type MethodClass = 'governed' | 'ungoverned' | 'unknown';

/**
 * Exact, case-sensitive spelling only: `Tools/Call` or `tools/call ` is no method of MCP, and a
 * lenient upstream that trims or lower-cases it would run a tool nobody decided on. Anything not
 * named here is `unknown` and must be refused, never passed.
 */
export function classifyMethod(method: string): MethodClass {
  if (isGovernedMethod(method)) return 'governed';
  return UNGOVERNED_METHODS.has(method) ? 'ungoverned' : 'unknown';
}

export function resolveGovernedName(method: string, params: unknown): GovernedNameResult {
  switch (method) {
    case 'tools/call':
      return named(params, 'name', '', method);
    case 'resources/read':
      return named(params, 'uri', RESOURCE_PREFIX, method);
    // Subscribing to a resource reveals its updates: decided like reading it.
    case 'resources/subscribe':
      return named(params, 'uri', RESOURCE_PREFIX, method);
    case 'prompts/get':
      return named(params, 'name', PROMPT_PREFIX, method);
    // Completions run server code for a named prompt or resource template: decided like using it.
    case 'completion/complete':
      return completionRef(params, method);
    default:
      return { kind: 'ungoverned' };
  }
}

function named(params: unknown, key: 'name' | 'uri', prefix: string, method: string): GovernedNameResult {
  const value = isRecord(params) ? params[key] : undefined;
  if (typeof value !== 'string' || value === '') {
    return { kind: 'invalid', message: `${method} requires params.${key} to be a non-empty string` };
  }
  const fault = governedNameFault(value);
  if (fault) {
    return {
      kind: 'invalid',
      message: `${method} params.${key} ${fault}: no tool, prompt or resource is named like that`,
    };
  }
  return { kind: 'governed', name: prefix + value };
}

/**
 * Why no governed name (MCP tool, prompt or resource; A2A skill) can be `name`, or null when it
 * can: over MAX_GOVERNED_NAME_BYTES, or holding a hidden character. Checked before any decision.
 */
export function governedNameFault(name: string): string | null {
  if (exceedsUtf8Bytes(name, MAX_GOVERNED_NAME_BYTES))
    return `is longer than ${MAX_GOVERNED_NAME_BYTES} bytes`;
  if (hasHiddenCharacter(name)) return 'contains whitespace, control or invisible characters';
  return null;
}

/**
 * Whitespace (Unicode White_Space), control (Cc), format (Cf: zero-width, bidi controls, tags) and
 * other default-ignorable characters (Hangul fillers, variation selectors), and lone surrogates.
 * No MCP tool, prompt or URI (RFC 3986 percent-encodes spaces) is named with them, but a lenient
 * upstream may trim or drop them: `"echo "` or `"echo\u200b"` would then run `echo` while the
 * policy decided on another name. So a governed name holding one is refused before any decision.
 */
const HIDDEN = /[\p{White_Space}\p{Cc}\p{Cf}\p{Default_Ignorable_Code_Point}\p{Cs}]/u;

/** Whether a governed name holds a character no reader sees as part of it (see HIDDEN). */
export function hasHiddenCharacter(name: string): boolean {
  return HIDDEN.test(name);
}

/**
 * Longest governed name (tool, prompt, resource URI; UTF-8 bytes) the gateway decides on. Longer
 * ones are refused before any matching, caching or auditing: a 1 MB name would otherwise be
 * matched against every glob, kept as a cache key and written into audit rows.
 */
export const MAX_GOVERNED_NAME_BYTES = 512;

function isLowSurrogate(code: number): boolean {
  return code >= 0xdc00 && code <= 0xdfff;
}

/** Whether `value` takes more than `max` bytes in UTF-8, without encoding a long string. */
export function exceedsUtf8Bytes(value: string, max: number): boolean {
  if (value.length > max) return true; // every UTF-16 code unit is at least one byte
  if (value.length * 3 <= max) return false; // and at most three
  let bytes = 0;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    if (code < 0x80) bytes += 1;
    else if (code < 0x800) bytes += 2;
    else if (code >= 0xd800 && code <= 0xdbff && isLowSurrogate(value.charCodeAt(i + 1))) {
      bytes += 4; // a surrogate pair: one astral code point
      i++;
    } else bytes += 3; // the rest of the BMP, and a lone surrogate (encoded as U+FFFD)
  }
  return bytes > max;
}

function completionRef(params: unknown, method: string): GovernedNameResult {
  const ref = isRecord(params) ? params.ref : undefined;
  if (isRecord(ref) && ref.type === 'ref/prompt')
    return named(ref, 'name', PROMPT_PREFIX, `${method} ref/prompt`);
  if (isRecord(ref) && ref.type === 'ref/resource')
    return named(ref, 'uri', RESOURCE_PREFIX, `${method} ref/resource`);
  return { kind: 'invalid', message: `${method} requires params.ref of type ref/prompt or ref/resource` };
}

export class InvalidGovernedParamsError extends Error {
  override readonly name = 'InvalidGovernedParamsError';
}

/**
 * The name the policy decides on, or null for methods the policy does not govern.
 *
 * Throws InvalidGovernedParamsError for a governed method with malformed params (e.g.
 * `tools/call` whose `name` is missing or not a string). Returning null there would read as
 * "not governed" and let the call through unchecked — an upstream that coerces
 * `["delete_repo"]` to a string would then run a denied tool. Map the error to JSON-RPC
 * -32602 (or use resolveGovernedName to branch without exceptions).
 */
export function governedName(method: string, params: unknown): string | null {
  const result = resolveGovernedName(method, params);
  if (result.kind === 'ungoverned') return null;
  if (result.kind === 'invalid') throw new InvalidGovernedParamsError(result.message);
  return result.name;
}
