import { pooledBase36 } from './random.pool.js';

/** Ids are prefixed random strings: sortable enough by `created_at`, unguessable, and self-describing in logs. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Bytes at or above this are redrawn: 252 = 7 × 36, so every character is equally likely (no modulo bias). */
const UNBIASED_BELOW = 252;

export function randomId(prefix: string, length = 20): string {
  let out = '';
  while (out.length < length) {
    // A few spare bytes: about 1.6 % of draws are redrawn.
    const bytes = crypto.getRandomValues(new Uint8Array(length - out.length + 4));
    for (let i = 0; i < bytes.length && out.length < length; i++) {
      const b = bytes[i]!;
      if (b < UNBIASED_BELOW) out += ALPHABET[b % 36];
    }
  }
  return `${prefix}_${out}`;
}

/**
 * Audit event ids lead with the time in ms (hex, fixed width) so that ordering by id within a
 * trace follows the order the gateway saw the calls, even for events spooled by different objects.
 */
export function eventId(now = Date.now()): string {
  // Made for every call: its random part comes from the pool (not a secret, see random.pool.ts).
  return `evt_${now.toString(16).padStart(12, '0')}${pooledBase36(12)}`;
}
