/**
 * The ids the gateway mints for server→client JSON-RPC requests (`sampling/createMessage`,
 * `elicitation/create`, `roots/list`, `ping`…), so that the client's response to one can be
 * decided and its unsolicited or forged responses refused (mcp.server-requests.ts mints,
 * gateway.decide.ts verifies).
 *
 * A minted id is `igsr2.<payload>.<issued>.<mac>`:
 *   payload  base64url of the JSON `[method, originalId, nonce]` — what the response is decided
 *            on (`response:<method>`) and the id the upstream gets back, type kept (7 stays a
 *            number); the nonce (48 random bits) makes every mint distinct: a sessionless server
 *            numbers its requests from 0 on every call, so without it two calls in the same second
 *            minted one id, and answering the second was refused as already answered. Ids minted
 *            before the nonce (`[method, originalId]`) still verify until they expire.
 *   issued   when it was minted: Unix seconds, base 36
 *   mac      the first 18 bytes (144 bits) of HMAC-SHA256 over the JSON
 *            `[orgId, connectionId, mcpSessionId | null, caller, payload, issued]`, base64url
 * so a response is accepted only from the caller, on the connection and session, whose stream
 * carried the request; another connection's, organization's, session's or caller's id, or one
 * altered by a single character, does not verify. Nothing secret is in the id: the method and original id are the upstream's own.
 *
 * One answer each (docs/policies.md "the client's responses to server requests"): an id older than
 * SERVER_ID_LIFETIME_MS (or issued more than CLOCK_SKEW_MS ahead) is refused as `expired`, and an
 * accepted response or cancellation spends its id in the connection's guard
 * (durable-objects/answered.ids.ts), keyed by its MAC (answerOf), so a second answer is refused.
 * The lifetime is what lets the guard forget a spent id: past it, the id is refused anyway. An
 * `igsr1.` id (minted before issue times, no lifetime) is refused as `invalid`.
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

export const MINTED_PREFIX = 'igsr2.';
/** Every version's prefix: an id that starts with one looks minted (and is refused unless it verifies). */
const ANY_MINTED = /^igsr\d+\./;
/**
 * How long a minted id can be answered. An hour: the SDKs give up on a request after a minute by
 * default (a server that waits for a person resets it with progress), and an answer after the
 * server gave up is dropped by it anyway; a longer lifetime only keeps spent ids longer.
 */
export const SERVER_ID_LIFETIME_MS = 3_600_000;
/** An id issued this far in the future still verifies (clocks of two isolates may differ a little). */
export const CLOCK_SKEW_MS = 60_000;
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
  /**
   * `unsolicited`: not an id the gateway mints; `invalid`: minted-looking, but not for this
   * binding; `expired`: minted for it, longer than SERVER_ID_LIFETIME_MS ago.
   */
  | { ok: false; reason: 'unsolicited' | 'invalid' | 'expired' };

/** What the guard records when a minted id is answered: its MAC, and when the id expires. */
export interface AnsweredId {
  key: string;
  expiresAt: number;
}

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();

interface KeySecrets {
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
}
/** Per env object (one per isolate in a Worker): the keys, with the secrets they were derived from. */
const envKeys = new WeakMap<
  KeySecrets,
  { current?: string; previous?: string; keys: readonly Uint8Array[] }
>();

/**
 * The minting keys, current first: sub-keys of ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS.
 * Empty when the Worker has no ENCRYPTION_KEY: nothing is minted, every response is refused.
 * Cached per env object (re-derived if its secrets differ), so a call pays one lookup.
 */
export function serverIdKeys(env: KeySecrets): readonly Uint8Array[] {
  const cached = envKeys.get(env);
  if (cached && cached.current === env.ENCRYPTION_KEY && cached.previous === env.ENCRYPTION_KEY_PREVIOUS)
    return cached.keys;
  const keys: Uint8Array[] = [];
  for (const secret of [env.ENCRYPTION_KEY, env.ENCRYPTION_KEY_PREVIOUS]) {
    const trimmed = secret?.trim();
    if (trimmed) keys.push(derivedKey(trimmed));
  }
  envKeys.set(env, { current: env.ENCRYPTION_KEY, previous: env.ENCRYPTION_KEY_PREVIOUS, keys });
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
  now = Date.now(),
  nonce = randomNonce(),
): string | null {
  if (method.length > MAX_SERVER_METHOD_CHARS) return null;
  if (!(id === null || (typeof id === 'number' && Number.isFinite(id)) || typeof id === 'string'))
    return null;
  if (typeof id === 'string' && id.length > MAX_ORIGINAL_ID_CHARS) return null;
  const payload = base64url(encoder.encode(JSON.stringify([method, id, nonce])));
  const issued = Math.floor(now / 1000).toString(36);
  const minted = `${MINTED_PREFIX}${payload}.${issued}.${mac(key, binding, payload, issued)}`;
  return minted.length > MAX_MINTED_ID_CHARS ? null : minted;
}

/** True when `id` has the shape of a minted id (verified or not). */
export function looksMinted(id: unknown): id is string {
  return typeof id === 'string' && ANY_MINTED.test(id);
}

/** The parts of a current-version id, or null for any other text (unverified). */
function partsOf(id: string): { payload: string; issued: string; given: string } | null {
  if (!id.startsWith(MINTED_PREFIX) || id.length > MAX_MINTED_ID_CHARS) return null;
  const [payload, issued, given, extra] = id.slice(MINTED_PREFIX.length).split('.');
  if (extra !== undefined || !payload || !given || !issued || !/^[0-9a-z]{1,10}$/.test(issued)) return null;
  return { payload, issued, given };
}

/** When an issue time (base-36 seconds) stops being answerable. */
function expiryOf(issued: string): number {
  return Number.parseInt(issued, 36) * 1000 + SERVER_ID_LIFETIME_MS;
}

/**
 * What answering a minted id spends (the guard's record: its MAC and its expiry). Call it only on
 * an id verifyServerId accepted; null for anything that is not a current-version id.
 */
export function answerOf(id: unknown): AnsweredId | null {
  const parts = typeof id === 'string' ? partsOf(id) : null;
  return parts ? { key: parts.given, expiresAt: expiryOf(parts.issued) } : null;
}

/** The server request a response's id answers, when the gateway minted it for this binding. */
export function verifyServerId(
  keys: readonly Uint8Array[],
  binding: IdBinding,
  id: unknown,
  now = Date.now(),
): IdCheck {
  if (!looksMinted(id)) return { ok: false, reason: 'unsolicited' };
  const invalid = { ok: false, reason: 'invalid' } as const;
  const parts = partsOf(id);
  if (!parts) return invalid;
  const { payload, issued, given } = parts;
  if (!keys.some((key) => sameMac(mac(key, binding, payload, issued), given))) return invalid;
  const request = decodePayload(payload);
  if (!request) return invalid;
  const expiresAt = expiryOf(issued);
  if (now >= expiresAt || expiresAt - SERVER_ID_LIFETIME_MS > now + CLOCK_SKEW_MS)
    return { ok: false, reason: 'expired' };
  return { ok: true, request };
}

function mac(key: Uint8Array, binding: IdBinding, payload: string, issued: string): string {
  const input = JSON.stringify([
    binding.orgId,
    binding.connectionId,
    binding.sessionId,
    binding.caller,
    payload,
    issued,
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
    // Two elements: minted before the nonce; three: the nonce, which only has to be text.
    if (!Array.isArray(value) || typeof value[0] !== 'string') return null;
    if (!(value.length === 2 || (value.length === 3 && typeof value[2] === 'string'))) return null;
    const id: unknown = value[1];
    if (!(id === null || typeof id === 'number' || typeof id === 'string')) return null;
    return { method: value[0], id };
  } catch {
    return null;
  }
}

/** 6 random bytes, base64url (8 characters): what makes two mints of the same request differ. */
function randomNonce(): string {
  return base64url(crypto.getRandomValues(new Uint8Array(6)));
}

function base64url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}
