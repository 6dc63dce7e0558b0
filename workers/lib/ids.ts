import { base36Char } from './hex.js';
import { pooledBase36 } from './random.pool.js';

/** Ids are prefixed random strings: sortable enough by `created_at`, unguessable, and self-describing in logs. */

export function randomId(prefix: string, length = 20): string {
  let out = '';
  while (out.length < length) {
    // A few spare bytes: about 1.6 % of draws are redrawn.
    const bytes = crypto.getRandomValues(new Uint8Array(length - out.length + 4));
    for (let i = 0; i < bytes.length && out.length < length; i++) out += base36Char(bytes[i]!);
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
