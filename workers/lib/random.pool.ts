/**
 * Random bytes for identifiers that are not secrets (audit event ids, trace and span ids), drawn
 * from the runtime's CSPRNG 4 KB at a time: each `getRandomValues` is a native call whose cost was a
 * visible share of a gateway call when every id made its own. Each byte is handed out once.
 *
 * Not for secrets (keys, tokens, session ids, salts, IVs): those call `crypto.getRandomValues`
 * themselves, so no secret's bytes ever wait in this isolate's memory before use.
 */
const pool = new Uint8Array(4096);
let used = pool.length;

function nextByte(): number {
  if (used === pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  return pool[used++]!;
}

const HEX = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, '0'));
const BASE36 = '0123456789abcdefghijklmnopqrstuvwxyz';
/** Bytes at or above this are skipped: 252 = 7 × 36, so every character is equally likely. */
const UNBIASED_BELOW = 252;

/** `bytes` random bytes as lowercase hex (2 characters each). */
export function pooledHex(bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += HEX[nextByte()];
  return out;
}

/** `length` random characters of [0-9a-z], each equally likely. */
export function pooledBase36(length: number): string {
  let out = '';
  while (out.length < length) {
    const b = nextByte();
    if (b < UNBIASED_BELOW) out += BASE36[b % 36];
  }
  return out;
}
