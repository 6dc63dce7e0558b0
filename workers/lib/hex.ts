/**
 * Bytes as text: lowercase hex (hashes, ids, key digests) and unbiased base-36 characters (ids).
 * One table and one SHA-256 helper for the whole Worker and its Durable Objects.
 */
const BYTE_HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
/** 252 = 7 × 36: bytes below it map onto [0-9a-z] evenly; bytes at or above it are skipped. */
const BASE36_UNBIASED_BELOW = 252;
const encoder = new TextEncoder();

/** Two lowercase hex digits for one byte value (0–255). */
export function byteHex(byte: number): string {
  return BYTE_HEX[byte]!;
}

/** Lowercase hex, two digits per byte. */
export function toHex(bytes: Uint8Array | ArrayBuffer): string {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let out = '';
  for (let i = 0; i < view.length; i++) out += BYTE_HEX[view[i]!];
  return out;
}

/** Lowercase hex SHA-256 of the text's UTF-8 bytes (or of the bytes given). */
export async function sha256Hex(text: string | Uint8Array): Promise<string> {
  return toHex(
    await crypto.subtle.digest(
      'SHA-256',
      typeof text === 'string' ? encoder.encode(text) : (text as Uint8Array<ArrayBuffer>),
    ),
  );
}

/**
 * One character of [0-9a-z] for a random byte, or '' for a byte to skip: every character is
 * equally likely (no modulo bias), at the cost of skipping about 1.6 % of bytes.
 */
export function base36Char(byte: number): string {
  return byte < BASE36_UNBIASED_BELOW ? BASE36[byte % 36]! : '';
}
