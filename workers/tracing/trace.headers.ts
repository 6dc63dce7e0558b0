/**
 * The organizations' OTLP export headers, opened (decrypted) once per sealed value per isolate
 * rather than per batch. Pure: trace.export.ts passes the opening (the vault); testable in plain Node.
 *
 * Bounded by bytes as well as by 1,000 values: a sealed header set is up to 20 headers of 4,096
 * characters (tracing.schemas.ts), ~112,000 characters sealed and ~84,000 opened, and the sealed
 * text is part of the key — 1,000 of them (organizations, or one organization saving its headers
 * again and again) were ~400 MB. Weighed once, when opened: the key, and the opened headers (no
 * longer than the sealed text), two bytes a character.
 */
import { WeightedMap } from '../lib/bounded.map';

export const OPENED_HEADERS_LIMIT = 1_000;
export const OPENED_HEADERS_BYTES = 1024 * 1024;

const opened = new WeightedMap<string, Promise<Record<string, string>>>(
  OPENED_HEADERS_LIMIT,
  OPENED_HEADERS_BYTES,
);

/** The headers `sealed` holds for `orgId`, opened by `open` at most once while they are kept. */
export function openedHeaders(
  orgId: string,
  sealed: string,
  open: (sealed: string) => Promise<Record<string, string>>,
): Promise<Record<string, string>> {
  const key = `${orgId}\u0000${sealed}`;
  let headers = opened.get(key);
  if (!headers) {
    headers = open(sealed);
    headers.catch(() => opened.delete(key));
    opened.set(key, headers, 256 + 2 * key.length + 2 * sealed.length);
  }
  return headers;
}
