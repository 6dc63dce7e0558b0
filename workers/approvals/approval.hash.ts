/**
 * What an approval is bound to (docs/policies.md#approvals): the exact arguments of one call,
 * hashed in a canonical form, and the caller + connection + method + tool they were sent by. Pure apart from
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
  if (!params) return null;
  if (unit.method === 'tools/call' || unit.method === 'prompts/get') return params.arguments ?? null;
  // Other governed methods carry their content elsewhere (completion/complete's `argument` and
  // `context`, a subscription's URIs): all of params but the name and `_meta` (a client's
  // progress token is not what the call asks).
  const { _meta: _m, ...rest } = params;
  return rest;
}

/**
 * The content an approval binds: approvalArguments, and for an LLM call whose request is more than
 * its JSON body — a passthrough, a multipart upload, a query string — the method, upstream path and
 * query, and the SHA-256 of the body forwarded. Without them an approved passthrough call (its body
 * not parsed: `null` arguments) would pass any other passthrough call once, and an approved
 * transcription of one file a transcription of another.
 *
 * A multipart form is forwarded as the gateway re-encodes its parsed entries, under a boundary the
 * runtime draws afresh each time (llm.form-reencode.ts), so neither the caller's bytes (an SDK draws
 * its own boundary per request: the retry of an approved upload would never match) nor the bytes
 * forwarded can be bound. What is bound is the form itself, as forwarded: its entries in order —
 * each name, and a text's value or a file's name, type and SHA-256 (formFingerprint). Two forms with
 * the same entries are the same call whatever bytes spelled them; any changed, added, dropped or
 * reordered entry is another one. A URL-encoded form is re-encoded without any randomness: its bytes,
 * as forwarded, are bound as any other body's.
 */
export async function approvalContent(protocol: string, unit: unknown): Promise<unknown> {
  const args = approvalArguments(protocol, unit);
  if (protocol !== 'llm' || !isRecord(unit) || !isRecord(unit.forwarded)) return args;
  const { target, raw, form } = unit.forwarded as {
    target: string;
    raw: Uint8Array | null;
    form?: FormData;
  };
  if (unit.endpoint !== 'passthrough' && raw === null && !target.includes('?')) return args;
  if (form) return { request: target, body: args, formSha256: await sha256Hex(await formFingerprint(form)) };
  return { request: target, body: args, ...(raw ? { bodySha256: await sha256Hex(raw) } : {}) };
}

/** A form's entries in order, as canonical JSON: `[name, text]` or `[name, {file, type, sha256}]`. */
export async function formFingerprint(form: FormData): Promise<string> {
  const entries: unknown[] = [];
  for (const [name, value] of form.entries()) {
    if (typeof value === 'string') entries.push([name, value]);
    else {
      const file = value as File;
      const sha256 = await sha256Hex(new Uint8Array(await file.arrayBuffer()));
      entries.push([name, { file: file.name, type: file.type, sha256 }]);
    }
  }
  return canonicalJson(entries);
}

/**
 * What the unit asks of the name it is decided by: the MCP method, the LLM endpoint, the A2A
 * method. Bound with the name, so an approval of one does not pass another on the same name —
 * `resources/subscribe` and `resources/read` of one URI, `completion/complete` and `prompts/get` of
 * one prompt, an `embeddings` and a `responses` call with the same body and model.
 */
export function approvalMethod(protocol: string, unit: unknown): string {
  if (!isRecord(unit)) return protocol;
  const field = protocol === 'llm' ? unit.endpoint : protocol === 'a2a' ? unit.canonical : unit.method;
  return typeof field === 'string' ? field : protocol;
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

export async function bindingHash(
  caller: ApprovalCaller,
  tool: string,
  argsHash: string,
  method: string,
): Promise<string> {
  return sha256Hex(
    canonicalJson([caller.connectionId, caller.apiKeyId, caller.userId, caller.user, method, tool, argsHash]),
  );
}
