/**
 * Credential encryption at rest (AES-256-GCM via WebCrypto).
 *
 * Upstream credentials (API keys, bearer tokens) are stored in D1 only as envelopes:
 *
 *   v1.<keyId>.<base64url iv>.<base64url ciphertext+tag>
 *
 * - keyId is the first 8 hex chars of SHA-256(raw key). It tells us which master key made the
 *   envelope without revealing anything usable about the key (32 bits of a hash of 256 random bits).
 * - The IV is 12 fresh random bytes per encryption. GCM is catastrophically broken by IV reuse under
 *   one key, and random 96-bit IVs are safe far beyond the number of credentials we will ever write.
 * - The AAD binds the ciphertext to its row (callers pass `${orgId}:${connectionId}`), so an attacker
 *   with write access to the table cannot copy one connection's credential into another row.
 *
 * Master keys come from secrets: ENCRYPTION_KEY (current) and optional ENCRYPTION_KEY_PREVIOUS, each
 * base64 of exactly 32 bytes (`openssl rand -base64 32`). New envelopes always use the current key;
 * both keys decrypt.
 *
 * Zero-downtime master key rotation:
 *   1. Deploy with ENCRYPTION_KEY=<new> and ENCRYPTION_KEY_PREVIOUS=<old>. Every existing envelope
 *      still decrypts (via the previous key) and every new write uses the new key.
 *   2. Run the re-encrypt job: for each row where `vault.needsReencryption(envelope)`, write
 *      `await vault.reencrypt(envelope, aad)` back (ideally guarded by a compare-and-swap on the old
 *      value so it cannot clobber a concurrent update).
 *   3. Once no row needs re-encryption, remove ENCRYPTION_KEY_PREVIOUS and redeploy. The old key can
 *      then be destroyed.
 *
 * Error messages are deliberately generic: they never contain plaintext, key material or the
 * envelope, because they end up in logs and API responses.
 */

import { boundedSet } from '../lib/bounded.map';
import { toHex } from '../lib/hex';

const ENVELOPE_VERSION = 'v1';
const KEY_BYTES = 32;
const IV_BYTES = 12;
const TAG_BYTES = 16;
const KEY_ID_PATTERN = /^[0-9a-f]{8}$/;
const STD_BASE64_PATTERN = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL_PATTERN = /^[A-Za-z0-9_-]+$/;

export type VaultErrorCode = 'vault_key_unknown' | 'vault_decrypt_failed' | 'vault_malformed';

const VAULT_ERROR_MESSAGES: Record<VaultErrorCode, string> = {
  vault_key_unknown: 'Credential was encrypted with a key this deployment does not have',
  vault_decrypt_failed: 'Credential could not be decrypted',
  vault_malformed: 'Credential envelope is malformed',
};

/** Typed failure of decrypt/reencrypt/needsReencryption. The message is fixed per code. */
export class VaultError extends Error {
  readonly code: VaultErrorCode;

  constructor(code: VaultErrorCode) {
    super(VAULT_ERROR_MESSAGES[code]);
    this.name = 'VaultError';
    this.code = code;
  }
}

export interface VaultKeys {
  /** Base64 of 32 bytes: the key every new envelope is made with (secret ENCRYPTION_KEY). */
  current: string;
  /** Base64 of 32 bytes: an old key still accepted for decryption (secret ENCRYPTION_KEY_PREVIOUS). */
  previous?: string;
}

export interface Vault {
  /** Key id of the current key (safe to log). */
  readonly currentKeyId: string;
  /** Key id of the previous key, if one is configured (safe to log). */
  readonly previousKeyId: string | undefined;
  encrypt(plaintext: string, aad: string): Promise<string>;
  decrypt(envelope: string, aad: string): Promise<string>;
  /** True when the envelope was not made with the current key. Throws VaultError if malformed. */
  needsReencryption(envelope: string): boolean;
  /** Decrypts with whichever key made the envelope and encrypts again under the current key. */
  reencrypt(envelope: string, aad: string): Promise<string>;
}

interface ParsedEnvelope {
  keyId: string;
  iv: Uint8Array<ArrayBuffer>;
  ciphertext: Uint8Array<ArrayBuffer>;
}

interface ImportedKey {
  id: string;
  key: CryptoKey;
}

// ---------------------------------------------------------------------------------------------
// Encoding helpers (btoa/atob work on "binary strings": one char per byte).

function bytesToBinary(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return binary;
}

function binaryToBytes(binary: string): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function toBase64Url(bytes: Uint8Array): string {
  return btoa(bytesToBinary(bytes)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Strict unpadded base64url decode; undefined instead of throwing so callers pick the error. */
function fromBase64Url(text: string): Uint8Array<ArrayBuffer> | undefined {
  // A length of 4n+1 can never come from whole bytes.
  if (!BASE64URL_PATTERN.test(text) || text.length % 4 === 1) return undefined;
  const padded = text.replace(/-/g, '+').replace(/_/g, '/') + '='.repeat((4 - (text.length % 4)) % 4);
  try {
    return binaryToBytes(atob(padded));
  } catch {
    return undefined;
  }
}

/** UTF-8 bytes, typed as ArrayBuffer-backed so WebCrypto's BufferSource parameters accept them. */
function utf8(text: string): Uint8Array<ArrayBuffer> {
  return new Uint8Array(new TextEncoder().encode(text));
}

// ---------------------------------------------------------------------------------------------
// Keys

/**
 * Decodes a key secret. The error names the secret but never includes its value, since startup
 * errors are logged and may be shown in `wrangler tail`.
 */
function decodeKeySecret(secret: string, secretName: string): Uint8Array<ArrayBuffer> {
  const hint = `${secretName} must be base64 of exactly ${KEY_BYTES} bytes (generate one with: openssl rand -base64 32)`;
  // Secrets pasted into `wrangler secret put` often carry a trailing newline.
  const trimmed = typeof secret === 'string' ? secret.trim() : '';
  if (trimmed === '') throw new Error(`${secretName} is not set; ${hint}`);
  if (!STD_BASE64_PATTERN.test(trimmed) || trimmed.length % 4 !== 0) {
    throw new Error(`${secretName} is not valid base64; ${hint}`);
  }
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = binaryToBytes(atob(trimmed));
  } catch {
    throw new Error(`${secretName} is not valid base64; ${hint}`);
  }
  if (bytes.length !== KEY_BYTES) {
    throw new Error(`${secretName} decodes to ${bytes.length} bytes; ${hint}`);
  }
  return bytes;
}

async function keyIdOf(raw: Uint8Array<ArrayBuffer>): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', raw));
  return toHex(digest).slice(0, 8);
}

async function importKey(secret: string, secretName: string): Promise<ImportedKey> {
  const raw = decodeKeySecret(secret, secretName);
  const id = await keyIdOf(raw);
  // Non-extractable: even code running in this isolate cannot read the key back out.
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-GCM' }, false, ['encrypt', 'decrypt']);
  return { id, key };
}

// ---------------------------------------------------------------------------------------------
// Envelope

function parseEnvelope(envelope: string): ParsedEnvelope {
  if (typeof envelope !== 'string') throw new VaultError('vault_malformed');
  const parts = envelope.split('.');
  if (parts.length !== 4) throw new VaultError('vault_malformed');
  const [version, keyId, ivText, ciphertextText] = parts as [string, string, string, string];
  if (version !== ENVELOPE_VERSION || !KEY_ID_PATTERN.test(keyId)) throw new VaultError('vault_malformed');
  const iv = fromBase64Url(ivText);
  const ciphertext = fromBase64Url(ciphertextText);
  if (!iv || iv.length !== IV_BYTES || !ciphertext || ciphertext.length < TAG_BYTES) {
    throw new VaultError('vault_malformed');
  }
  return { keyId, iv, ciphertext };
}

function requireAad(aad: string): Uint8Array<ArrayBuffer> {
  // An empty AAD would silently drop the row binding, so treat it as a programming error.
  if (typeof aad !== 'string' || aad === '') throw new TypeError('vault: aad must be a non-empty string');
  return utf8(aad);
}

async function encryptWith(key: ImportedKey, plaintext: string, aad: string): Promise<string> {
  if (typeof plaintext !== 'string') throw new TypeError('vault: plaintext must be a string');
  const additionalData = requireAad(aad);
  const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
  const sealed = await crypto.subtle.encrypt(
    { name: 'AES-GCM', iv, additionalData, tagLength: TAG_BYTES * 8 },
    key.key,
    utf8(plaintext),
  );
  return [ENVELOPE_VERSION, key.id, toBase64Url(iv), toBase64Url(new Uint8Array(sealed))].join('.');
}

async function decryptWith(key: ImportedKey, parsed: ParsedEnvelope, aad: string): Promise<string> {
  const additionalData = requireAad(aad);
  let opened: ArrayBuffer;
  try {
    opened = await crypto.subtle.decrypt(
      { name: 'AES-GCM', iv: parsed.iv, additionalData, tagLength: TAG_BYTES * 8 },
      key.key,
      parsed.ciphertext,
    );
  } catch {
    // Wrong AAD, tampering and a key-id collision all look the same here, on purpose.
    throw new VaultError('vault_decrypt_failed');
  }
  try {
    // ignoreBOM keeps a leading U+FEFF in the plaintext instead of silently stripping it.
    return new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(opened);
  } catch {
    throw new VaultError('vault_decrypt_failed');
  }
}

// ---------------------------------------------------------------------------------------------
// Vault

/** Imports the master keys once (validating them) and returns an encrypt/decrypt facade. */
export async function createVault(keys: VaultKeys): Promise<Vault> {
  const current = await importKey(keys.current, 'ENCRYPTION_KEY');
  const previous = await importPreviousKey(keys.previous, current);

  const byId = new Map<string, ImportedKey>([[current.id, current]]);
  if (previous) byId.set(previous.id, previous);

  const keyFor = (keyId: string): ImportedKey => {
    const key = byId.get(keyId);
    if (!key) throw new VaultError('vault_key_unknown');
    return key;
  };

  const decrypt = async (envelope: string, aad: string): Promise<string> => {
    const parsed = parseEnvelope(envelope);
    return decryptWith(keyFor(parsed.keyId), parsed, aad);
  };

  return {
    currentKeyId: current.id,
    previousKeyId: previous?.id,
    encrypt: (plaintext, aad) => encryptWith(current, plaintext, aad),
    decrypt,
    needsReencryption: (envelope) => parseEnvelope(envelope).keyId !== current.id,
    reencrypt: async (envelope, aad) => encryptWith(current, await decrypt(envelope, aad), aad),
  };
}

/**
 * The previous key is optional; an unset secret may arrive as '' rather than undefined. Setting it
 * to the same value as the current key (a half-finished rotation) is harmless, so it is ignored.
 */
async function importPreviousKey(
  secret: string | undefined,
  current: ImportedKey,
): Promise<ImportedKey | undefined> {
  if (secret === undefined || secret.trim() === '') return undefined;
  const previous = await importKey(secret, 'ENCRYPTION_KEY_PREVIOUS');
  if (previous.id !== current.id) return previous;
  // Same id: either the same key, or a 1-in-2^32 hash-prefix collision that would make envelopes
  // ambiguous. Distinguish the two by a probe encryption rather than comparing raw key bytes.
  const probe = await encryptWith(current, 'probe', 'probe');
  const sameKey = await decryptWith(previous, parseEnvelope(probe), 'probe').then(
    () => true,
    () => false,
  );
  if (!sameKey)
    throw new Error('ENCRYPTION_KEY and ENCRYPTION_KEY_PREVIOUS have colliding key ids; generate a new key');
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Per-isolate cache

/** The secrets `getVault` reads; structural so it accepts the Worker Env without depending on it. */
export interface VaultEnv {
  ENCRYPTION_KEY?: string;
  ENCRYPTION_KEY_PREVIOUS?: string;
}

// Normally one entry per isolate; the bound only matters for tests that build many vaults.
const MAX_CACHED_VAULTS = 4;
const vaultCache = new Map<string, Promise<Vault>>();

/**
 * Returns the Vault for env's keys, importing them at most once per isolate (importKey and the
 * key-id digest are not free, and this sits on the hot path of every proxied request).
 */
export function getVault(env: VaultEnv): Promise<Vault> {
  const current = env.ENCRYPTION_KEY ?? '';
  const previous = env.ENCRYPTION_KEY_PREVIOUS;
  // NUL cannot occur in base64, so the pair maps to a unique cache key.
  const cacheKey = `${current}\u0000${previous ?? ''}`;
  const cached = vaultCache.get(cacheKey);
  if (cached) return cached;

  const created = createVault({ current, previous });
  // A failed import must not stay cached: the next request should surface the error again.
  created.catch(() => {
    if (vaultCache.get(cacheKey) === created) vaultCache.delete(cacheKey);
  });
  boundedSet(vaultCache, cacheKey, created, MAX_CACHED_VAULTS);
  return created;
}

/** Drops memoized vaults (tests only). */
export function clearVaultCache(): void {
  vaultCache.clear();
}
