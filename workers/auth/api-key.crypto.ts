/**
 * Igris API keys: generation, hashing, format checks and log redaction.
 *
 * A key is 'ig_' + base64url(32 random bytes) — 256 bits of entropy, URL-safe, no padding.
 * Only SHA-256(key) is stored. The first 10 characters ('ig_' + 7) are stored in the clear as the
 * key's prefix so listings can show which key is which.
 *
 * Why a plain, unsalted SHA-256 and not bcrypt/scrypt/PBKDF2: slow, salted KDFs exist to protect
 * low-entropy secrets (passwords) against dictionary and rainbow-table attacks. A uniformly random
 * 256-bit key has no dictionary, and precomputed tables over a 2^256 space are impossible, so a
 * single fast hash is already preimage-resistant. It also lets us look a key up by its hash with an
 * index on every request, which a per-row salt would prevent and a slow KDF would make expensive.
 */

import { timingSafeEqual as equalBytes } from 'node:crypto';
import { sha256Hex } from '../lib/hex.js';

const encoder = new TextEncoder();

const KEY_PREFIX = 'ig_';
const KEY_RANDOM_BYTES = 32;
const VISIBLE_PREFIX_LENGTH = 10;
const API_KEY_PATTERN = /^ig_[A-Za-z0-9_-]{20,200}$/;

export interface GeneratedApiKey {
  /** The full secret; shown to the user exactly once. */
  key: string;
  /** First 10 characters of the key, e.g. 'ig_AbC1234'; safe to store and display. */
  prefix: string;
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** Creates a new random API key and its display prefix. */
export function generateApiKey(): GeneratedApiKey {
  const key = KEY_PREFIX + toBase64Url(crypto.getRandomValues(new Uint8Array(KEY_RANDOM_BYTES)));
  return { key, prefix: key.slice(0, VISIBLE_PREFIX_LENGTH) };
}

/** Lowercase hex SHA-256 of the key (see the top-of-file comment for why no salt or KDF). */
export function hashApiKey(key: string): Promise<string> {
  return sha256Hex(key);
}

/** Cheap syntactic check, used to reject garbage before spending a hash and a database lookup. */
export function looksLikeApiKey(s: unknown): s is string {
  return typeof s === 'string' && API_KEY_PATTERN.test(s);
}

/**
 * Compares two strings' UTF-8 bytes in time independent of where they differ (node:crypto's
 * timingSafeEqual, native in workerd under nodejs_compat: no JIT to second-guess), so the time
 * taken does not reveal how many leading characters match. Lengths are not secret (we compare
 * fixed-length hex hashes and tokens), so unequal byte lengths return false at once — which
 * timingSafeEqual needs, as it throws on them.
 */
export function timingSafeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.length === right.length && equalBytes(left, right);
}

/** Marks every character covered by any occurrence (overlapping ones included) of any secret. */
function coverage(text: string, secrets: readonly string[]): Uint8Array {
  const covered = new Uint8Array(text.length);
  for (const secret of secrets) {
    if (typeof secret !== 'string' || secret === '') continue; // '' would match everywhere
    for (let at = text.indexOf(secret); at !== -1; at = text.indexOf(secret, at + 1)) {
      covered.fill(1, at, at + secret.length);
    }
  }
  return covered;
}

/**
 * Replaces every occurrence of any of `secrets` in `text` with '[REDACTED]', before text reaches a
 * log. Works on covered character ranges rather than sequential string replaces, so overlapping or
 * nested secrets are removed entirely (no leftover fragments) and the marker is never re-matched.
 * Each maximal covered run becomes one marker. Empty strings are ignored.
 */
export function redactSecrets(text: string, secrets: readonly string[]): string {
  const covered = coverage(text, secrets);
  let out = '';
  let i = 0;
  while (i < text.length) {
    const runStart = i;
    const inSecret = covered[i] === 1;
    while (i < text.length && (covered[i] === 1) === inSecret) i++;
    out += inSecret ? '[REDACTED]' : text.slice(runStart, i);
  }
  return out;
}
