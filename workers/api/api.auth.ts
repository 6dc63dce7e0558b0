/**
 * Authentication for `/api/v1/*`: `Authorization: Bearer ig_…` (and, with human sign-in, the
 * `igris.session_token` cookie). Sets `principal` for the handlers; everything they read or write
 * is scoped to `principal.orgId`.
 */
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { authenticateApiKey, bearerApiKey, unauthorized } from '../auth/api-key.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';

export const requireAuth = createMiddleware<AppEnv>(async function requireAuth(c, next) {
  await ensureBootstrapped(c.env);
  const key = bearerApiKey(c.req.header('Authorization'));
  if (!key) throw unauthorized();
  const { principal, touch } = await authenticateApiKey(c.env.DB, key);
  if (touch) c.executionCtx.waitUntil(touch.catch(() => {}));
  c.set('principal', principal);
  await next();
});
