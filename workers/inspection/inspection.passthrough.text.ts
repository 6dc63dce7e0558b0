/**
 * The text of bytes a passthrough call forwards as sent (a body, an uploaded file), as a provider
 * may decode them, or null for bytes that are not text (an image, audio). Pure.
 *
 * UTF-8 is what providers document, but not all a server reads: a JSON parser given bytes (Python's
 * `json.loads`, for one) takes UTF-16 and UTF-32 too, by their byte-order mark or, without one, by
 * where the NUL bytes of the first four are (RFC 4627 §3). Read as UTF-8, such a body is either
 * "binary" (a UTF-16 `é` is not UTF-8) or text with a NUL between every letter, in which no rule
 * matches — a prompt passed unread. So those encodings are detected the same way and decoded.
 */
import { strictUtf8 } from '../lib/values';

type Encoding = 'utf-8' | 'utf-16le' | 'utf-16be' | 'utf-32le' | 'utf-32be';

/** The encoding by byte-order mark, else by the NUL bytes of the first four, as RFC 4627 §3 (and Python) do. */
function detect(b: Uint8Array): { encoding: Encoding; bom: number } {
  if (b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', bom: 3 };
  if (b[0] === 0xff && b[1] === 0xfe && b[2] === 0 && b[3] === 0) return { encoding: 'utf-32le', bom: 4 };
  if (b[0] === 0 && b[1] === 0 && b[2] === 0xfe && b[3] === 0xff) return { encoding: 'utf-32be', bom: 4 };
  if (b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', bom: 2 };
  if (b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', bom: 2 };
  if (b.length >= 4) {
    if (b[0] === 0 && b[1] === 0 && b[2] === 0) return { encoding: 'utf-32be', bom: 0 };
    if (b[0] === 0) return { encoding: 'utf-16be', bom: 0 };
    if (b[1] === 0 && b[2] === 0 && b[3] === 0) return { encoding: 'utf-32le', bom: 0 };
    if (b[1] === 0) return { encoding: 'utf-16le', bom: 0 };
  }
  return { encoding: 'utf-8', bom: 0 };
}

/** UTF-16 code units to a string (any sequence decodes: a lone surrogate stays one). */
function utf16(b: Uint8Array, bigEndian: boolean): string {
  const parts: string[] = [];
  const units = new Array<number>(Math.min(8192, b.length >> 1));
  let n = 0;
  for (let i = 0; i + 1 < b.length; i += 2) {
    units[n++] = bigEndian ? (b[i]! << 8) | b[i + 1]! : b[i]! | (b[i + 1]! << 8);
    if (n === units.length) {
      parts.push(String.fromCharCode(...units));
      n = 0;
    }
  }
  if (n > 0) parts.push(String.fromCharCode(...units.slice(0, n)));
  return parts.join('');
}

/** UTF-32 to a string, or null past the last code point (then it was not UTF-32 text). */
function utf32(b: Uint8Array, bigEndian: boolean): string | null {
  const parts: string[] = [];
  for (let i = 0; i + 3 < b.length; i += 4) {
    const cp = bigEndian
      ? ((b[i]! << 24) | (b[i + 1]! << 16) | (b[i + 2]! << 8) | b[i + 3]!) >>> 0
      : ((b[i + 3]! << 24) | (b[i + 2]! << 16) | (b[i + 1]! << 8) | b[i]!) >>> 0;
    if (cp > 0x10ffff) return null;
    parts.push(String.fromCodePoint(cp));
  }
  return parts.join('');
}

/**
 * UTF-8 text, or null for bytes that are not. A piece of an upload in parts (`POST /uploads/{id}/parts`)
 * may cut a character at either end: up to 3 bytes of a cut character at each end are left out
 * rather than calling the whole piece binary.
 */
export function utf8Text(bytes: Uint8Array): string | null {
  try {
    return strictUtf8(bytes);
  } catch {}
  let start = 0;
  while (start < 3 && start < bytes.length && (bytes[start]! & 0xc0) === 0x80) start++;
  let end = bytes.length;
  // A trailing lead byte and its continuation bytes, fewer than the lead byte announces.
  for (let back = 1; back <= 3 && end - back >= start; back++) {
    const b = bytes[end - back]!;
    if ((b & 0xc0) === 0x80) continue;
    const need = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    if (need > back) end -= back;
    break;
  }
  if (start === 0 && end === bytes.length) return null;
  try {
    return strictUtf8(bytes.subarray(start, end));
  } catch {
    return null;
  }
}

/** The bytes as text in the Unicode encoding they announce (UTF-8 by default), or null when they are not text. */
export function unicodeText(bytes: Uint8Array): string | null {
  const { encoding, bom } = detect(bytes);
  const rest = bytes.subarray(bom);
  switch (encoding) {
    case 'utf-8':
      return utf8Text(bytes); // a UTF-8 byte-order mark is dropped by the decoder
    case 'utf-16le':
      return utf16(rest, false);
    case 'utf-16be':
      return utf16(rest, true);
    case 'utf-32le':
      return utf32(rest, false);
    case 'utf-32be':
      return utf32(rest, true);
  }
}

/** Undecodable bytes that still leave bytes text: a few, or one in a hundred characters. */
const STRAY_BYTES = 8;

/**
 * The text content inspection scans in bytes: their Unicode text (unicodeText), or — bytes that are
 * text but for a few undecodable ones (at most STRAY_BYTES, or one in a hundred characters: a text
 * file with a stray byte, perhaps put there to make it look binary) — that text with those bytes
 * replaced (U+FFFD). Null for binary: an image, audio or a compressed file decodes to a replacement
 * character in every few, and is not read (docs/detections.md).
 */
export function scannableText(bytes: Uint8Array): string | null {
  const text = unicodeText(bytes);
  if (text !== null) return text;
  const lossy = new TextDecoder('utf-8').decode(bytes);
  const allowed = Math.max(STRAY_BYTES, Math.floor(lossy.length / 100));
  let replaced = 0;
  for (let i = lossy.indexOf('\uFFFD'); i !== -1; i = lossy.indexOf('\uFFFD', i + 1))
    if (++replaced > allowed) return null;
  return lossy;
}
