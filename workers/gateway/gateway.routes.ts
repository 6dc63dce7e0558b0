import { Hono } from 'hono';
import type { AppEnv } from '../app.types';
import { preflightResponse } from './gateway.origin';
import { handleGateway } from './gateway.pipeline';
import { methodNotAllowed } from './gateway.respond';

/** `/v1/mcp/:slug` — the MCP Streamable HTTP endpoint of a connection. */
export const gatewayRoutes = new Hono<AppEnv>()
  .post('/v1/mcp/:slug', (c) => handleGateway(c, 'POST'))
  // Hono routes HEAD to GET handlers; a HEAD must not open the server's stream upstream.
  .get('/v1/mcp/:slug', (c) => (c.req.method === 'HEAD' ? methodNotAllowed() : handleGateway(c, 'GET')))
  .delete('/v1/mcp/:slug', (c) => handleGateway(c, 'DELETE'))
  // CORS preflight for browser clients: see gateway.origin.ts for why it is not per connection.
  .options('/v1/mcp/:slug', (c) => preflightResponse(c.req.raw))
  // Any other method: 405 with Allow, as MCP servers answer (not the REST 404).
  .all('/v1/mcp/:slug', () => methodNotAllowed());
