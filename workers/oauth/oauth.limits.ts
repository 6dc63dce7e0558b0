/**
 * `/register` (RFC 7591) is anonymous and every registration is a stored record, so it is limited
 * per client address (IPv6 by /64) with the sign-in limiter's Durable Objects
 * (workers/auth/auth.limiter.ts): 30 registrations an hour. An MCP client registers once per
 * server it is pointed at, so the limit only bites a flood.
 *
 * Fail mode: CLOSED, like sign-up: an unreachable limiter refuses the registration (503); already
 * registered clients are unaffected.
 */

import type { LimitRule } from '../../durable-objects/login-limiter.do';
import { addressKey, consumeCreation, type LimitKey } from '../auth/auth.limiter';
import { AppError } from '../lib/errors';

export const REGISTER_RULE: LimitRule = { limit: 30, windowSeconds: 60 * 60, lockSeconds: 60 * 60 };

export function registerKeys(ip: string | null): LimitKey[] {
  return [{ name: `oauth-register:${addressKey(ip)}`, rule: REGISTER_RULE }];
}

/** Null when this registration may go ahead; else the OAuth-shaped refusal (429 or 503). */
export async function registrationLimited(env: Env, ip: string | null): Promise<Response | null> {
  try {
    await consumeCreation(env, registerKeys(ip), 'client registrations');
    return null;
  } catch (err) {
    if (!(err instanceof AppError)) throw err;
    const error = err.code === 'rate_limited' ? 'rate_limited' : 'temporarily_unavailable';
    return new Response(JSON.stringify({ error, error_description: err.message }), {
      status: err.status,
      headers: { ...err.headers, 'Content-Type': 'application/json', 'Cache-Control': 'no-store' },
    });
  }
}
