/**
 * The A2A gateway's routes.
 *
 *   POST /v1/a2a/<slug>                                JSON-RPC (SSE answers for streaming methods),
 *                                                      through the call core with the A2A adapter
 *   GET  /v1/a2a/<slug>/.well-known/agent-card.json    the agent's card rewritten for callers: its
 *                                                      interface is the gateway, its security schemes
 *                                                      Igris's bearer key and, when OAuth is on for the
 *                                                      connection, Igris's OAuth (workers/a2a/a2a.card.ts)
 *
 * The card needs the caller's `ig_` key too: slugs are per organization, so an unauthenticated
 * card request could not even say whose agent it asks for, and another organization's agent
 * (or one the key's member may not use) is "not found" / forbidden exactly as on the call route.
 */
import { Hono } from 'hono';
import { a2aGatewayUrl, rewriteCard } from '../a2a/a2a.card';
import { loadCard } from '../a2a/a2a.registry';
import type { AppEnv } from '../app.types';
import { bearerCredential, unauthorized } from '../auth/api-key.auth';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { AppError, restErrorBody, toAppError } from '../lib/errors';
import { authenticateGatewayCaller, withOAuthChallenge } from '../oauth/oauth.gateway';
import { gatewayOAuthOf } from '../oauth/oauth.policy';
import { cardOAuthOf, issuerOf } from '../oauth/oauth.resource';
import { a2aAdapter } from './a2a.adapter';
import { handleCall } from './gateway.call';
import { connectionNotFound, requireUsableConnection } from './gateway.connection';
import { MAX_SLUG_LENGTH } from './gateway.routes';

export const a2aRoutes = new Hono<AppEnv>();

a2aRoutes.post('/v1/a2a/:slug', (c) => handleCall(c, 'POST', a2aAdapter));

a2aRoutes.get('/v1/a2a/:slug/.well-known/agent-card.json', async (c) => {
  try {
    const slug = c.req.param('slug');
    await ensureBootstrapped(c.env);
    const key = bearerCredential(c.req.header('Authorization'));
    if (!key) throw unauthorized();
    if (slug.length > MAX_SLUG_LENGTH) throw connectionNotFound();
    // An `ig_` key or an OAuth access token for this agent (workers/oauth/oauth.gateway.ts).
    const { auth, connection } = await authenticateGatewayCaller(c.env, c.req.url, 'a2a', key, slug);
    if (!connection) throw connectionNotFound();
    requireUsableConnection(auth.principal, connection);
    const stored =
      connection.type === 'a2a' ? await loadCard(c.env.DB, connection.orgId, connection.id) : null;
    if (!stored) throw connectionNotFound();
    const base = issuerOf(c.env, c.req.url);
    const oauth = gatewayOAuthOf(connection.settings).enabled ? cardOAuthOf(base) : null;
    return c.json(rewriteCard(stored.card, a2aGatewayUrl(base, connection.slug), oauth), 200, {
      'Cache-Control': 'private, max-age=60',
    });
  } catch (thrown) {
    const err = withOAuthChallenge(toAppError(thrown), c.env, c.req.url, 'a2a', c.req.param('slug'));
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return c.json(restErrorBody(err), err.status as 400);
  }
});

// Any other method on the JSON-RPC endpoint: a JSON-RPC error with Allow (as A2A agents answer).
a2aRoutes.all('/v1/a2a/:slug', () => {
  const err = new AppError('method_not_allowed', {
    message: 'Method not allowed: A2A JSON-RPC uses POST',
    headers: { Allow: 'POST' },
  });
  return a2aAdapter.respondError({ traceId: '', cors: {} }, err, null);
});
