/**
 * The one byte cap of the management API (`/api/v1/*`, and the people API `/api/auth/*`): a request body is read here, counted while
 * it streams (lib/http.bounded.ts `readCapped`, the gateway's own reader), and refused with 413
 * `payload_too_large` once it is longer than its route's cap — before any validator parses it, so
 * a 30 MB body costs one read of the first MiB, not a buffer and a JSON parse of all of it. A
 * declared Content-Length over the cap is refused before anything is read; a chunked body, or one
 * whose length lies, is cut off at the cap. Nothing is written: no handler has run.
 *
 * The bytes read are handed to Hono's body cache, so the route's validator parses exactly them.
 *
 * The caps, per route, are in api.body-caps.ts (docs/security-model.md#request-size-limits).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { AppError } from '../lib/errors';
import { readCapped } from '../lib/http.bounded';
import { apiBodyCap } from './api.body-caps';

function bodyTooLarge(maxBytes: number): AppError {
  return new AppError('payload_too_large', {
    message: `Request body is larger than this route accepts (${maxBytes} bytes)`,
    details: { location: 'body', maxBytes },
  });
}

export const capApiBody = createMiddleware<AppEnv>(async function capApiBody(c, next) {
  const request = c.req.raw;
  if (request.body === null) return next();
  const maxBytes = apiBodyCap(request.method, c.req.path);
  const bytes = await readCapped(request, maxBytes, () => bodyTooLarge(maxBytes));
  // The validators read the body through HonoRequest, which serves every form (json, text, form)
  // from this cache once one is there: the raw stream is spent and is never read again.
  const whole = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength;
  const buffer = (whole ? bytes.buffer : bytes.slice().buffer) as ArrayBuffer;
  // (Hono types the cache's entries as the bodies; at run time they are promises of them.)
  (c.req.bodyCache as Record<string, unknown>).arrayBuffer = Promise.resolve(buffer);
  await next();
});
