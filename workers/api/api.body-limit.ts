/**
 * The one byte cap of the management API (`/api/v1/*`, and the people API `/api/auth/*`): a request body is read here, counted while
 * it streams (gateway.jsonrpc.ts `readCapped`, the gateway's own reader), and refused with 413
 * `payload_too_large` once it is longer than its route's cap — before any validator parses it, so
 * a 30 MB body costs one read of the first MiB, not a buffer and a JSON parse of all of it. A
 * declared Content-Length over the cap is refused before anything is read; a chunked body, or one
 * whose length lies, is cut off at the cap. Nothing is written: no handler has run.
 *
 * The bytes read are handed to Hono's body cache, so the route's validator parses exactly them.
 *
 * Caps (docs/security-model.md#request-size-limits): 1 MiB by default; the routes below take more,
 * each for a reason measured from its schema.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { readCapped } from '../gateway/gateway.jsonrpc';
import { AppError } from '../lib/errors';

const MiB = 1024 * 1024;

/** Every management API body not named below: the largest ordinary body is a pasted AgentCard (256 KiB). */
export const DEFAULT_API_BODY_BYTES = 1 * MiB;

/**
 * A policy document (PUT …/policy) and a draft one (…/policy/simulate, …/policy/replay). The
 * largest policy that can be saved is bounded by what one D1 row holds: MAX_STORED_POLICY_BYTES
 * (1,990,000) of compact JSON (policy.service.ts; MAX_RULES = 10,000 rules of ~199 bytes each).
 * A body may be indented: such a policy sent with 4-space indentation measures 4.1 MB
 * (test/workerd/api.body-limit.test.ts builds it); 8 MiB leaves room for deeper indentation.
 */
export const POLICY_BODY_BYTES = 8 * MiB;

/**
 * POST /detections/scan: `text` is up to 1 MiB of characters (detections.routes.ts), and one
 * character may take six bytes in JSON (`\u0001`).
 */
export const DETECTION_SCAN_BODY_BYTES = 8 * MiB;

/**
 * `/api/auth/*` (people: sign-up, sign-in, passwords, invitations, their organizations): open to
 * anonymous callers, and its largest body is a sign-up (an email, a name, a password of at most a
 * few hundred bytes each; auth.schemas.ts). 64 KiB is far above any of them.
 */
export const AUTH_BODY_BYTES = 64 * 1024;

const ROUTE_CAPS: ReadonlyArray<{ method: string; path: RegExp; maxBytes: number }> = [
  { method: 'PUT', path: /^\/api\/v1\/connections\/[^/]+\/policy\/?$/, maxBytes: POLICY_BODY_BYTES },
  {
    method: 'POST',
    path: /^\/api\/v1\/connections\/[^/]+\/policy\/(?:simulate|replay)\/?$/,
    maxBytes: POLICY_BODY_BYTES,
  },
  { method: 'POST', path: /^\/api\/v1\/detections\/scan\/?$/, maxBytes: DETECTION_SCAN_BODY_BYTES },
  { method: '*', path: /^\/api\/auth\//, maxBytes: AUTH_BODY_BYTES },
];

/** The cap of one route's body, in bytes. */
export function apiBodyCap(method: string, path: string): number {
  for (const cap of ROUTE_CAPS) {
    if ((cap.method === '*' || cap.method === method) && cap.path.test(path)) return cap.maxBytes;
  }
  return DEFAULT_API_BODY_BYTES;
}

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
