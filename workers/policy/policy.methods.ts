/**
 * Which JSON-RPC methods the policy governs, and the name it decides on.
 *
 * Lifecycle (initialize, ping, notifications/*) and list methods are not governed; list
 * results are filtered separately with couldEverAllow. Resource and prompt names are
 * namespaced (`resource:`, `prompt:`) so one glob language covers all three kinds.
 */

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
  return { kind: 'governed', name: prefix + value };
}

function completionRef(params: unknown, method: string): GovernedNameResult {
  const ref = isRecord(params) ? params.ref : undefined;
  if (isRecord(ref) && ref.type === 'ref/prompt')
    return named(ref, 'name', PROMPT_PREFIX, `${method} ref/prompt`);
  if (isRecord(ref) && ref.type === 'ref/resource')
    return named(ref, 'uri', RESOURCE_PREFIX, `${method} ref/resource`);
  return { kind: 'invalid', message: `${method} requires params.ref of type ref/prompt or ref/resource` };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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
