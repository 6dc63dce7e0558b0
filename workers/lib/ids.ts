/** Ids are prefixed random strings: sortable enough by `created_at`, unguessable, and self-describing in logs. */
const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

export function randomId(prefix: string, length = 20): string {
  const bytes = crypto.getRandomValues(new Uint8Array(length));
  let out = '';
  for (const b of bytes) out += ALPHABET[b % 36];
  return `${prefix}_${out}`;
}

/**
 * Audit event ids lead with the time in ms (hex, fixed width) so that ordering by id within a
 * trace follows the order the gateway saw the calls, even for events spooled by different objects.
 */
export function eventId(now = Date.now()): string {
  return `evt_${now.toString(16).padStart(12, '0')}${randomId('', 12).slice(1)}`;
}
