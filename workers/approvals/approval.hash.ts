/**
 * What an approval is bound to (docs/policies.md#approvals): the exact arguments of one call,
 * hashed in a canonical form, and the caller + connection + tool they were sent by. Pure apart from
 * WebCrypto's digest (available in workerd and Node alike).
 *
 * Canonical JSON: object keys sorted (by UTF-16 code units, recursively), no whitespace, arrays in
 * order, numbers as JSON writes them — so `{"b":1,"a":2}` and `{"a":2,"b":1}` are the same call,
 * while any changed value, added key or reordered list is another one.
 */
import { sha256Hex } from '../lib/hex';
import { isRecord } from '../lib/values.js';

export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item)).join(',')}]`;
  if (isRecord(value)) {
    const keys = Object.keys(value)
      .filter((key) => value[key] !== undefined)
      .sort();
    return `{${keys.map((key) => `${JSON.stringify(key)}:${canonicalJson(value[key])}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * The arguments of one governed unit, per protocol: an MCP call's `params.arguments`, an LLM
 * request's body (as it will be forwarded), an A2A request's params without the message's own id
 * (a retried message gets a fresh `messageId`; what it asks is the rest).
 */
export function approvalArguments(protocol: string, unit: unknown): unknown {
  if (!isRecord(unit)) return null;
  if (protocol === 'llm') return unit.body ?? null;
  if (protocol === 'a2a') {
    const message = isRecord(unit.message) ? unit.message : null;
    const params = message && isRecord(message.params) ? message.params : null;
    if (!params) return null;
    if (!isRecord(params.message)) return params;
    const { messageId: _id, ...rest } = params.message;
    return { ...params, message: rest };
  }
  const params = isRecord(unit.params) ? unit.params : null;
  return params?.arguments ?? null;
}

/** The name an approval records for a unit decided without a governed name (an LLM call without a model). */
export function approvalName(protocol: string, unit: unknown): string {
  if (isRecord(unit) && typeof unit.endpoint === 'string') return unit.endpoint;
  return protocol;
}

/** Who sent the call, through which connection: a retry must match every field. */
export interface ApprovalCaller {
  connectionId: string;
  apiKeyId: string | null;
  userId: string | null;
  /** X-Igris-User (or the OAuth member's email). */
  user: string | null;
}

export async function bindingHash(caller: ApprovalCaller, tool: string, argsHash: string): Promise<string> {
  return sha256Hex(
    canonicalJson([caller.connectionId, caller.apiKeyId, caller.userId, caller.user, tool, argsHash]),
  );
}
