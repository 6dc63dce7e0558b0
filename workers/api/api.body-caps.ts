/**
 * The byte caps of the management and people APIs, per route: pure data, read by the middleware
 * that enforces them (api.body-limit.ts) and by the OpenAPI documents that state them
 * (api.openapi.ts withBodyCaps), so the two cannot disagree.
 *
 * Caps (docs/security-model.md#request-size-limits): 1 MiB by default; the routes below take more
 * (or, for anonymous callers, less), each for a reason measured from its schema.
 */
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
