/**
 * CSRF protection for cookie-authenticated requests. A browser attaches the session cookie to
 * any request to our origin, including ones a hostile page triggers, so every state-changing
 * request that authenticates with the cookie must pass BOTH checks:
 *
 * 1. Origin: the `Origin` header is present and on the allow-list — the Worker's own origin
 *    (and PUBLIC_BASE_URL's) plus DASHBOARD_ORIGINS. Browsers always send Origin on cross-origin
 *    requests and on same-origin non-GET fetches, so a missing one means "not a browser we can
 *    vouch for" and is refused too.
 * 2. Token (double submit): the session holds the SHA-256 of a random CSRF token; the client sends
 *    the token in `X-CSRF-Token`. A hostile page can make the browser send the cookie but cannot
 *    read the token (it only comes back in our JSON responses, which CORS keeps from other origins).
 *
 * API-key requests need neither: a bearer key is never attached by the browser on its own.
 * The same allow-list drives CORS (workers/app.ts), so only the dashboard can read our answers.
 */

import { AppError } from '../lib/errors';
import { sha256Hex } from '../lib/hex';
import { timingSafeEqual } from './api-key.crypto';

export const CSRF_HEADER = 'X-CSRF-Token';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isStateChanging(method: string): boolean {
  return !SAFE_METHODS.has(method.toUpperCase());
}

function originOf(url: string): string | null {
  try {
    const parsed = new URL(url);
    return parsed.protocol === 'http:' || parsed.protocol === 'https:' ? parsed.origin : null;
  } catch {
    return null;
  }
}

/** DASHBOARD_ORIGINS (comma-separated) as normalized origins; malformed entries are ignored. */
export function dashboardOrigins(env: Pick<Env, 'DASHBOARD_ORIGINS'>): string[] {
  return (env.DASHBOARD_ORIGINS ?? '')
    .split(',')
    .map((entry) => originOf(entry.trim()))
    .filter((origin): origin is string => origin !== null);
}

/** Every origin whose pages may act with a session cookie. */
export function allowedOrigins(
  env: Pick<Env, 'DASHBOARD_ORIGINS' | 'PUBLIC_BASE_URL'>,
  requestUrl: string,
): Set<string> {
  const origins = new Set(dashboardOrigins(env));
  const own = originOf(requestUrl);
  if (own) origins.add(own);
  const configured = env.PUBLIC_BASE_URL ? originOf(env.PUBLIC_BASE_URL) : null;
  if (configured) origins.add(configured);
  return origins;
}

/** CORS: the dashboard origins only (the Worker's own pages are same-origin and need no CORS). */
export function corsOrigin(origin: string, env: Pick<Env, 'DASHBOARD_ORIGINS'>): string | null {
  return dashboardOrigins(env).includes(origin) ? origin : null;
}

/**
 * Origin check for requests that may act for a browser user. `required`: refuse a missing Origin
 * (cookie-authenticated writes); otherwise only a present, foreign Origin is refused (sign-in and
 * the other cookie-less auth endpoints, against login CSRF, while still serving curl).
 */
export function checkOrigin(
  env: Pick<Env, 'DASHBOARD_ORIGINS' | 'PUBLIC_BASE_URL'>,
  requestUrl: string,
  origin: string | undefined,
  required: boolean,
): void {
  if (!origin) {
    if (required) {
      throw new AppError('origin_forbidden', {
        message: 'Origin header required for cookie-authenticated changes',
        details: { location: 'header', path: 'Origin' },
      });
    }
    return;
  }
  if (!allowedOrigins(env, requestUrl).has(origin)) {
    throw new AppError('origin_forbidden', { details: { location: 'header', path: 'Origin' } });
  }
}

/** 256 random bits, base64url: CSRF tokens, and the emailed reset and invitation tokens. */
export function randomToken(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(32));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export const newCsrfToken = randomToken;

/** The double-submit check: the header's token must hash to the session's stored hash. */
export async function checkCsrfToken(header: string | undefined, storedHash: string): Promise<void> {
  if (!header || header.length > 200 || !timingSafeEqual(await sha256Hex(header), storedHash)) {
    throw new AppError('csrf_failed', {
      message: `Missing or wrong ${CSRF_HEADER} header`,
      details: { location: 'header', path: CSRF_HEADER },
    });
  }
}
