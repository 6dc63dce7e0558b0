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

/** Digits of a batch item's index in its row id: every index of the largest batch (1000 items) fits. */
export const BATCH_INDEX_DIGITS = 3;

/**
 * The audit row id of item `index` of a batch: the call's id for the first, then the call's id and
 * the index, zero-padded. A batch's rows share one created_at, so every ordered read of the trail
 * (a trace oldest first, the event list newest first) falls back on these ids to keep the items in
 * the order they were sent — with `_10` unpadded, item 10 sorted between items 1 and 2.
 */
export function batchRowId(callId: string, index: number): string {
  return index === 0 ? callId : `${callId}_${String(index).padStart(BATCH_INDEX_DIGITS, '0')}`;
}
