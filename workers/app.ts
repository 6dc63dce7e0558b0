/**
 * The Worker's one Hono app: gateway routes, the management API and auth, with one error
 * mapping. Route modules do the work; this file only assembles them.
 */
import { Hono } from 'hono';
import { apiRoutes } from './api/api.routes';
import type { AppEnv } from './app.types';
import { gatewayRoutes } from './gateway/gateway.routes';
import { AppError, restErrorBody, toAppError } from './lib/errors';
import { randomId } from './lib/ids';
import { log } from './lib/log';

export function createApp() {
  const app = new Hono<AppEnv>();

  app.use('*', async (c, next) => {
    c.set('requestId', randomId('req', 12));
    await next();
  });

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/', gatewayRoutes);
  app.route('/api/v1', apiRoutes);

  app.notFound((c) => {
    const err = new AppError('not_found', {
      message: 'No such route',
      details: { location: 'path', path: c.req.path },
    });
    return c.json(restErrorBody(err), 404);
  });

  // The single mapping from errors to REST responses. Gateway routes answer in JSON-RPC and
  // handle their own errors (workers/gateway/gateway.pipeline.ts), so only API errors get here.
  app.onError((thrown, c) => {
    const err = toAppError(thrown);
    if (err.status >= 500) {
      log('error', 'request failed', {
        requestId: c.get('requestId'),
        path: c.req.path,
        code: err.code,
        internal: err.internal ?? thrown,
      });
    }
    for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
    return c.json(restErrorBody(err), err.status as 400);
  });

  return app;
}

export type App = ReturnType<typeof createApp>;
