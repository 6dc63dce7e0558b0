import { Hono } from 'hono';
import { createMiddleware } from 'hono/factory';
import type { AppEnv } from '../app.types';
import { parseTraceId } from '../identity/identity.metadata';
import { AppError } from '../lib/errors';
import { handleCall } from './gateway.call';
import { TRACE_HEADER } from './gateway.identity';
import { preflightResponse } from './gateway.origin';
import { methodNotAllowed, respondError } from './gateway.respond';
import { mcpAdapter } from './mcp.adapter';

/**
 * Longest slug a connection can have (connection.rules.ts). A longer one names no connection, so
 * it is answered 404 here, before authentication, any D1 query or any audit row: a 12,000-character
 * slug must not be carried into the database and the audit trail.
 */
export const MAX_SLUG_LENGTH = 64;

const slugCap = createMiddleware<AppEnv>(async function slugCap(c, next) {
  const slug = c.req.param('slug') ?? '';
  if (slug.length <= MAX_SLUG_LENGTH) return next();
  const err = new AppError('not_found', {
    message: `No such connection: slugs are at most ${MAX_SLUG_LENGTH} characters`,
    details: { location: 'path', path: 'slug', maxLength: MAX_SLUG_LENGTH },
  });
  return respondError(
    { traceId: parseTraceId(c.req.header(TRACE_HEADER) ?? null).traceId, cors: {} },
    err,
    null,
  );
});

/** `/v1/mcp/:slug` — the MCP Streamable HTTP endpoint of a connection. */
export const gatewayRoutes = new Hono<AppEnv>()
  .use('/v1/mcp/:slug', slugCap)
  .post('/v1/mcp/:slug', (c) => handleCall(c, 'POST', mcpAdapter))
  // Hono routes HEAD to GET handlers; a HEAD must not open the server's stream upstream.
  .get('/v1/mcp/:slug', (c) =>
    c.req.method === 'HEAD' ? methodNotAllowed() : handleCall(c, 'GET', mcpAdapter),
  )
  .delete('/v1/mcp/:slug', (c) => handleCall(c, 'DELETE', mcpAdapter))
  // CORS preflight for browser clients: see gateway.origin.ts for why it is not per connection.
  .options('/v1/mcp/:slug', (c) => preflightResponse(c.req.raw))
  // Any other method: 405 with Allow, as MCP servers answer (not the REST 404).
  .all('/v1/mcp/:slug', () => methodNotAllowed());
