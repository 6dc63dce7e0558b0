/**
 * What the caller sent, for a call prepared more than once (gateway.call.ts: a `stale` guard, or a
 * session-taint approval). The request stages change what is forwarded in place — content
 * inspection's redact masks the parsed body — so a second preparation must not read the first's
 * result: it would scan placeholders (losing the first pass's findings from the audit row) and decide
 * on masked text under the newer configuration (a value the newer policy blocks, already masked by
 * the stale one, would pass). Every preparation therefore parses the caller's own bytes again.
 *
 * Kept without a copy: the bytes the body was read as (readBodyCapped) are remembered by request.
 * Nothing changes them in place (stages replace what they mask), and they live as long as the
 * request. The hot path pays one WeakMap entry; only the rare retry builds a request and parses.
 */

const readBodies = new WeakMap<Request, Uint8Array>();

/** Remembers the bytes `request`'s body was read as (the same array, not a copy). */
export function keepBody(request: Request, bytes: Uint8Array): Uint8Array {
  readBodies.set(request, bytes);
  return bytes;
}

/**
 * `request` again, its body the bytes it was first read as (none if it was never read). Its method
 * is POST when it carries bytes, since a GET cannot be built with a body: adapters take the call's
 * method from the core, never from the request.
 */
export function replayRequest(request: Request): Request {
  const bytes = readBodies.get(request) ?? null;
  return new Request(request.url, {
    method: bytes ? (request.method === 'GET' ? 'POST' : request.method) : request.method,
    headers: request.headers,
    body: bytes as Uint8Array<ArrayBuffer> | null,
  });
}
