/**
 * Random bytes for identifiers that are not secrets (audit event ids, trace and span ids), drawn
 * from the runtime's CSPRNG 4 KB at a time: each `getRandomValues` is a native call whose cost was a
 * visible share of a gateway call when every id made its own. Each byte is handed out once.
 *
 * Not for secrets (keys, tokens, session ids, salts, IVs): those call `crypto.getRandomValues`
 * themselves, so no secret's bytes ever wait in this isolate's memory before use.
 */
import { base36Char, byteHex } from './hex.js';

const pool = new Uint8Array(4096);
let used = pool.length;

function nextByte(): number {
  if (used === pool.length) {
    crypto.getRandomValues(pool);
    used = 0;
  }
  return pool[used++]!;
}

/** `bytes` random bytes as lowercase hex (2 characters each). */
export function pooledHex(bytes: number): string {
  let out = '';
  for (let i = 0; i < bytes; i++) out += byteHex(nextByte());
  return out;
}

/** `length` random characters of [0-9a-z], each equally likely. */
export function pooledBase36(length: number): string {
  let out = '';
  while (out.length < length) out += base36Char(nextByte());
  return out;
}
