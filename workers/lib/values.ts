/** Small value helpers used across the Worker and the Durable Objects (pure). */

/** One decoder per isolate: `decode()` without `stream` keeps no state from one call to the next. */
const STRICT_UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });

/** The bytes as UTF-8 text (request bodies, cursors); throws a TypeError when they are not UTF-8. */
export function strictUtf8(bytes: Uint8Array): string {
  return STRICT_UTF8.decode(bytes);
}

/** The chunks as one array (`total`: their byte length, already counted by the caller). */
export function concatBytes(chunks: readonly Uint8Array[], total: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(total);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** A plain JSON object: not null, not an array. */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The object itself when it is one, else an empty object (for `details` read back from storage). */
export function recordOrEmpty(value: unknown): Record<string, unknown> {
  return isRecord(value) ? value : {};
}

/** A stored epoch-milliseconds time as an ISO 8601 string, or null when there is none. */
export function iso(ms: number | null | undefined): string | null {
  return ms === null || ms === undefined ? null : new Date(ms).toISOString();
}

/** JSON text read back from storage (a settings column): anything unreadable or absent is `{}`. */
export function parseStoredJson(text: string | null | undefined): unknown {
  try {
    return JSON.parse(text || '{}');
  } catch {
    return {};
  }
}
