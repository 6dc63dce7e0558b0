/**
 * Authentication for `/api/v1/*`: `Authorization: Bearer ig_…`, or the `igris.session_token`
 * cookie of a signed-in person. Both set the same `principal` (kind 'api_key' or 'session'), so
 * the permission matrix treats them alike; everything the handlers read or write is scoped to
 * `principal.orgId`. A request carrying an Authorization header is judged by it alone.
 *
 * Cookie-authenticated state-changing requests must also pass both CSRF checks (allowed Origin +
 * X-CSRF-Token, workers/auth/csrf.check.ts); API keys need neither.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { authenticateApiKey, bearerApiKey, unauthorized } from '../auth/api-key.auth';
import { authenticateSession, enforceCsrf, sessionPrincipal } from '../auth/session.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';

export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  await ensureBootstrapped(c.env);
  const authorization = c.req.header('Authorization');
  if (authorization === undefined) {
    const session = await authenticateSession(c);
    if (!session) throw unauthorized();
    await enforceCsrf(c, session);
    c.set('principal', sessionPrincipal(session));
    await next();
    return;
  }
  const key = bearerApiKey(authorization);
  if (!key) throw unauthorized();
  const { principal, touch } = await authenticateApiKey(c.env.DB, key);
  if (touch) c.executionCtx.waitUntil(touch.catch(() => {}));
  c.set('principal', principal);
  await next();
});
