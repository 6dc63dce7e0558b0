/**
 * The ids the gateway mints for server→client JSON-RPC requests (`sampling/createMessage`,
 * `elicitation/create`, `roots/list`, `ping`…), so that the client's response to one can be
 * decided and its unsolicited or forged responses refused (mcp.server-requests.ts mints,
 * gateway.decide.ts verifies).
 *
 * A minted id is `igsr1.<payload>.<mac>`:
 *   payload  base64url of the JSON `[method, originalId]` — what the response is decided on
 *            (`response:<method>`) and the id the upstream gets back, type kept (7 stays a number)
 *   mac      the first 18 bytes (144 bits) of HMAC-SHA256 over the JSON
 *            `[orgId, connectionId, mcpSessionId | null, caller, payload]`, base64url
 * so a response is accepted only from the caller, on the connection and session, whose stream
 * carried the request; another connection's, organization's, session's or caller's id, or one
 * altered by a single character, does not verify. Nothing secret is in the id: the method and original id are the upstream's own.
 *
 * The key: a sub-key derived from the Worker's ENCRYPTION_KEY with a fixed label (HMAC of the
 * label under the secret), never the vault key itself; ENCRYPTION_KEY_PREVIOUS still verifies
 * during a rotation. Synchronous (node:crypto's createHmac, workerd's native HMAC; nodejs_compat,
 * wrangler.toml): ids are minted inside a response stage, whose `onMessage` is synchronous. The MAC
 * is compared with timingSafeEqual.
 *
 * Limits: the original id is at most MAX_ORIGINAL_ID_CHARS characters (a string) or a finite
 * number, the method at most MAX_SERVER_METHOD_CHARS, the minted id at most MAX_MINTED_ID_CHARS;
 * a server request beyond them is not minted, and the stage drops it (fail closed: an unminted
 * request could only be answered by a response the gateway refuses).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { JsonRpcId } from './gateway.jsonrpc';

export const MINTED_PREFIX = 'igsr1.';
export const MAX_ORIGINAL_ID_CHARS = 256;
export const MAX_SERVER_METHOD_CHARS = 128;
export const MAX_MINTED_ID_CHARS = 1024;
const MAC_BYTES = 18;
const KEY_LABEL = 'igris-edge/mcp-server-request-ids/v1';

/**
 * Where a minted id is valid: one connection of one organization, one MCP session (or none), one
 * caller (`key:<id>` or `user:<id>`, as audit rows name it): a caller who learns another's session
 * id still cannot answer that caller's server requests.
 */
export interface IdBinding {
  orgId: string;
  connectionId: string;
  sessionId: string | null;
  caller: string | null;
}

/** The server request a minted id stands for. */
export interface ServerRequestRef {
  method: string;
  id: JsonRpcId;
}

export type IdCheck =
  | { ok: true; request: ServerRequestRef }
  /** `unsolicited`: not an id the gateway mints; `invalid`: minted-looking, but not for this binding. */
  | { ok: false; reason: 'unsolicited' | 'invalid' };

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();

/**
 * The minting keys, current first: sub-keys of ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS.
 * Empty when the Worker has no ENCRYPTION_KEY: nothing is minted, every response is refused.
 */
export function serverIdKeys(env: {
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
}): Uint8Array[] {
  const keys: Uint8Array[] = [];
  for (const secret of [env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS]) {
    const trimmed = secret?.trim();
    if (trimmed) keys.push(derivedKey(trimmed));
  }
  return keys;
}

function derivedKey(secret: string): Uint8Array {
  let key = keyCache.get(secret);
  if (!key) {
    key = hmacSha256(encoder.encode(secret), KEY_LABEL);
    if (keyCache.size >= 8) keyCache.clear();
    keyCache.set(secret, key);
  }
  return key;
}

/** The minted id for a server request, or null when it is beyond the limits (above). */
export function mintServerId(
  key: Uint8Array,
  binding: IdBinding,
  method: string,
  id: unknown,
): string | null {
  if (method.length > MAX_SERVER_METHOD_CHARS) return null;
  if (!(id === null || (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string'))
    return null;
  if (typeof id === 'string' && id.length > MAX_ORIGINAL_ID_CHARS) return null;
  const payload = base64url(encoder.encode(JSON.stringify([method, id])));
  const minted = `${MINTED_PREFIX}${payload}.${mac(key, binding, payload)}`;
  return minted.length > MAX_MINTED_ID_CHARS ? null : minted;
}

/** True when `id` has the shape of a minted id (verified or not). */
export function looksMinted(id: unknown): id is string {
  return typeof id === 'string' && id.startsWith(MINTED_PREFIX);
}

/** The server request a response's id answers, when the gateway minted it for this binding. */
export function verifyServerId(keys: readonly Uint8Array[], binding: IdBinding, id: unknown): IdCheck {
  if (!looksMinted(id)) return { ok: false, reason: 'unsolicited' };
  const invalid = { ok: false, reason: 'invalid' } as const;
  if (id.length > MAX_MINTED_ID_CHARS) return invalid;
  const dot = id.indexOf('.', MINTED_PREFIX.length);
  if (dot === -1) return invalid;
  const payload = id.slice(MINTED_PREFIX.length, dot);
  const given = id.slice(dot + 1);
  if (!keys.some((key) => sameMac(mac(key, binding, payload), given))) return invalid;
  const request = decodePayload(payload);
  return request ? { ok: true, request } : invalid;
}

function mac(key: Uint8Array, binding: IdBinding, payload: string): string {
  const input = JSON.stringify([
    binding.orgId,
    binding.connectionId,
    binding.sessionId,
    binding.caller,
    payload,
  ]);
  return base64url(hmacSha256(key, input).subarray(0, MAC_BYTES));
}

/** HMAC-SHA256 of the text's UTF-8 bytes under `key` (JSON.stringify output: always well formed). */
function hmacSha256(key: Uint8Array, text: string): Uint8Array {
  return createHmac('sha256', key).update(text, 'utf8').digest();
}

/**
 * The expected MAC text against the given one, in time independent of where they differ (the
 * length is public). Compared as UTF-8 bytes, lengths first: timingSafeEqual throws on unequal
 * lengths, and a given text of the right length in characters can be longer in bytes.
 */
function sameMac(expected: string, given: string): boolean {
  const a = encoder.encode(expected);
  const b = encoder.encode(given);
  return a.length === b.length && timingSafeEqual(a, b);
}

function decodePayload(payload: string): ServerRequestRef | null {
  try {
    const binary = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const bytes = Uint8Array.from(binary, (c) => c.charCodeAt(0));
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes),
    );
    if (!Array.isArray(value) || value.length !== 2 || typeof value[0] !== 'string') return null;
    const id: unknown = value[1];
    if (!(id === null || typeof id === 'number' || typeof id === 'string')) return null;
    return { method: value[0], id };
  } catch {
    return null;
  }
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
