/**
 * Authentication for `/api/v1/*`: `Authorization: Bearer ig_…`, or the `igris.session_token`
 * cookie of a signed-in person. Both set the same `principal` (kind 'api_key' or 'session'), so
 * the permission matrix treats them alike; everything the handlers read or write is scoped to
 * `principal.orgId`. A request carrying an Authorization header is judged by it alone.
 *
 * Cookie-authenticated state-changing requests must also pass both CSRF checks (allowed Origin +
 * X-CSRF-Token, workers/auth/csrf.check.ts); API keys need neither.
 *
 * A caller whose key or user is under a kill switch is refused everything (`principal_killed`).
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { authenticateApiKey, bearerApiKey, unauthorized } from '../auth/api-key.auth';
import { authenticateSession, enforceCsrf, sessionPrincipal } from '../auth/session.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { killOnApiKey, refuseKill, refuseKilledPrincipal } from '../killswitch/killswitch.principal';

export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  await ensureBootstrapped(c.env);
  const authorization = c.req.header('Authorization');
  if (authorization === undefined) {
    const session = await authenticateSession(c);
    if (!session) throw unauthorized();
    await enforceCsrf(c, session);
    const principal = sessionPrincipal(session);
    await refuseKilledPrincipal(c.env.DB, principal);
    c.set('principal', principal);
    await next();
    return;
  }
  const key = bearerApiKey(authorization);
  if (!key) throw unauthorized();
  // A key (or user) under a kill switch may do nothing here: not mint a fresh key, not lift its
  // own switch (workers/killswitch/killswitch.principal.ts). Looked up by the key, beside the key
  // itself: one round trip for both.
  const [{ principal, touch }, kill] = await Promise.all([
    authenticateApiKey(c.env.DB, key),
    killOnApiKey(c.env.DB, key),
  ]);
  if (touch) c.executionCtx.waitUntil(touch.catch(() => {}));
  refuseKill(kill);
  c.set('principal', principal);
  await next();
});
