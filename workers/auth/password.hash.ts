/**
 * Password hashing: PBKDF2-HMAC-SHA256 through WebCrypto, stored as
 * `pbkdf2-sha256$<iterations>$<salt b64url>$<hash b64url>` with a 16-byte random salt per hash.
 *
 * Why 100,000 iterations: it is the most the Workers runtime accepts. Cloudflare's production
 * runtime refuses a PBKDF2 call above 100,000 iterations ("NotSupportedError: Pbkdf2 failed:
 * iteration counts above 100000 are not supported") — workerd's checkPbkdfLimits() with
 * DEFAULT_MAX_PBKDF2_ITERATIONS, cloudflare/workerd#1346. The open-source workerd used locally
 * (1.20261102.1) has that default removed: it derived 20,000,000 iterations without complaint when
 * measured, so local runs cannot reveal the cap — hence the constant below and its unit test. OWASP
 * asks for 600,000; the gap is why sign-in is also rate-limited per account and address
 * (durable-objects/login-limiter.do.ts). The count is stored with every hash, so raising it later
 * only changes new hashes, and verifyPassword reports when a stored hash should be upgraded.
 */
import { timingSafeEqual } from 'node:crypto';

/** The production Workers runtime's PBKDF2 iteration cap. */
export const WORKERS_PBKDF2_MAX_ITERATIONS = 100_000;
/** Iterations for new hashes: the highest the runtime accepts. */
export const PASSWORD_ITERATIONS = WORKERS_PBKDF2_MAX_ITERATIONS;

const SCHEME = 'pbkdf2-sha256';
const SALT_BYTES = 16;
const HASH_BYTES = 32;
/** PBKDF2 hashes longer inputs with HMAC first anyway; the cap only bounds request work. */
export const PASSWORD_MAX_BYTES = 1024;
const encoder = new TextEncoder();

/**
 * Verified instead of a real hash when the account does not exist (or has no password), so that
 * "no such user" costs the same PBKDF2 work as "wrong password". No password matches it: its hash
 * is not the output of any derivation we know of, and it is compared like any other.
 */
export const DUMMY_PASSWORD_HASH = `${SCHEME}$${PASSWORD_ITERATIONS}$kYBb7m0iOJc3xkBKlXgM3A$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

interface ParsedHash {
  iterations: number;
  salt: Uint8Array<ArrayBuffer>;
  hash: string;
}

/**
 * Compares two base64url encodings in time independent of where they differ (node:crypto's
 * timingSafeEqual, native in workerd under nodejs_compat); unequal lengths (not secret: the
 * derived length is fixed) return false at once, as timingSafeEqual throws on them.
 */
function constantTimeEqual(a: string, b: string): boolean {
  const left = encoder.encode(a);
  const right = encoder.encode(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

function toBase64Url(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): Uint8Array<ArrayBuffer> {
  const binary = atob(text.replace(/-/g, '+').replace(/_/g, '/'));
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

async function derive(password: string, salt: Uint8Array<ArrayBuffer>, iterations: number): Promise<string> {
  const key = await crypto.subtle.importKey('raw', new TextEncoder().encode(password), 'PBKDF2', false, [
    'deriveBits',
  ]);
  const bits = await crypto.subtle.deriveBits(
    { name: 'PBKDF2', hash: 'SHA-256', salt, iterations },
    key,
    HASH_BYTES * 8,
  );
  return toBase64Url(new Uint8Array(bits));
}

/** Parses a stored hash; null for anything malformed or beyond what the runtime can verify. */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 4 || parts[0] !== SCHEME) return null;
  const iterations = Number(parts[1]);
  if (!Number.isInteger(iterations) || iterations < 1 || iterations > WORKERS_PBKDF2_MAX_ITERATIONS)
    return null;
  try {
    const salt = fromBase64Url(parts[2] ?? '');
    if (salt.length < 8 || !/^[A-Za-z0-9_-]+$/.test(parts[3] ?? '')) return null;
    return { iterations, salt, hash: parts[3]! };
  } catch {
    return null;
  }
}

export async function hashPassword(password: string, iterations = PASSWORD_ITERATIONS): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  return `${SCHEME}$${iterations}$${toBase64Url(salt)}$${await derive(password, salt, iterations)}`;
}

export interface PasswordCheck {
  ok: boolean;
  /** True when the password was right but the hash uses fewer iterations than new hashes do. */
  needsRehash: boolean;
}

/**
 * Checks a password against a stored hash (or, with null, against DUMMY_PASSWORD_HASH — same
 * work, always false). The derived and stored values are compared without an early exit.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<PasswordCheck> {
  const parsed = parsePasswordHash(stored ?? DUMMY_PASSWORD_HASH) ?? parsePasswordHash(DUMMY_PASSWORD_HASH)!;
  const derived = await derive(password, parsed.salt, parsed.iterations);
  const ok = constantTimeEqual(derived, parsed.hash) && stored !== null && parsePasswordHash(stored) !== null;
  return { ok, needsRehash: ok && parsed.iterations < PASSWORD_ITERATIONS };
}
