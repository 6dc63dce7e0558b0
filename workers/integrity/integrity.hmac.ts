/**
 * HMAC-SHA256 (RFC 2104), synchronous, over the plain-TypeScript SHA-256 beside it. Why not
 * `crypto.subtle.sign`: the ids the gateway mints for server→client requests
 * (workers/gateway/mcp.server-ids.ts) are made inside a response stage's `onMessage`, which is
 * synchronous (gateway.stages.ts). Linear in the input; the unit test checks it against node:crypto.
 */
import { sha256 } from './integrity.sha256';

const BLOCK = 64;

/** HMAC-SHA256 of `message` under `key` (any length: a key over one block is hashed first). */
export function hmacSha256(key: Uint8Array, message: Uint8Array): Uint8Array {
  const block = new Uint8Array(BLOCK);
  block.set(key.length > BLOCK ? sha256(key) : key);
  const inner = new Uint8Array(BLOCK + message.length);
  const outer = new Uint8Array(BLOCK + 32);
  for (let i = 0; i < BLOCK; i++) {
    inner[i] = block[i]! ^ 0x36;
    outer[i] = block[i]! ^ 0x5c;
  }
  inner.set(message, BLOCK);
  outer.set(sha256(inner), BLOCK);
  return sha256(outer);
}
