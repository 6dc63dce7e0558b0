import { Hono } from 'hono';
import type { AppEnv } from '../app.types';
import { handleGateway } from './gateway.pipeline';

/** `/v1/mcp/:slug` — the MCP Streamable HTTP endpoint of a connection. */
export const gatewayRoutes = new Hono<AppEnv>()
  .post('/v1/mcp/:slug', (c) => handleGateway(c, 'POST'))
  .get('/v1/mcp/:slug', (c) => handleGateway(c, 'GET'))
  .delete('/v1/mcp/:slug', (c) => handleGateway(c, 'DELETE'));
