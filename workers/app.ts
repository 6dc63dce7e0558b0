/**
 * The Worker's one Hono app: gateway routes, the management API and auth, with one error
 * mapping. Route modules do the work; this file only assembles them.
 */
import { type Context, Hono } from 'hono';
import { cors } from 'hono/cors';
import { HTTPException } from 'hono/http-exception';
import { apiRoutes } from './api/api.routes';
import type { AppEnv } from './app.types';
import { authRoutes } from './auth/auth.routes';
import { CSRF_HEADER, corsOrigin } from './auth/csrf.check';
import { a2aRoutes } from './gateway/a2a.routes';
import { gatewayRoutes } from './gateway/gateway.routes';
import { llmRoutes } from './gateway/llm.routes';
import { echoUrlPath } from './lib/echo.safe';
import { AppError, type ErrorCode, restErrorBody, toAppError } from './lib/errors';
import { randomId } from './lib/ids';
import { log } from './lib/log';
import { oauthRoutes } from './oauth/oauth.routes';

export function createApp() {
  const app = new Hono<AppEnv>();

  // The dashboard on another origin (Pages) calls the API with the session cookie: CORS with
  // credentials for DASHBOARD_ORIGINS only (docs/auth.md, "Cross-origin dashboard").
  app.use(
    '/api/*',
    cors({
      origin: (origin, c) => corsOrigin(origin, c.env),
      credentials: true,
      allowMethods: ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'],
      allowHeaders: ['Content-Type', 'Authorization', CSRF_HEADER],
      exposeHeaders: ['Retry-After'],
      maxAge: 600,
    }),
  );

  app.get('/healthz', (c) => c.json({ ok: true }));
  app.route('/', gatewayRoutes);
  app.route('/', llmRoutes);
  app.route('/', a2aRoutes);
  // OAuth 2.1 for MCP clients: metadata, registration, token, consent (docs/oauth.md).
  app.route('/', oauthRoutes);
  app.route('/api/v1', apiRoutes);
  app.route('/api/auth', authRoutes);

  app.notFound((c) => {
    const err = new AppError('not_found', {
      message: 'No such route',
      details: { location: 'path', path: c.req.path },
    });
    return c.json(restErrorBody(err), 404);
  });

  app.onError(onError);
  return app;
}

/**
 * The Worker's fetch handler. Paths under `/v1/` and `/llm/` are tried first against an app that
 * holds only the gateway's routes (MCP, LLM, A2A): the whole app has hundreds of routes, for which
 * Hono's router falls back to its trie, and matching there was a visible share of a gateway call's
 * CPU; a dozen routes match in a fraction of that. A path that app does not match goes on to the
 * whole app, so every answer is the one the whole app gives.
 */
export function createFetch(): (
  request: Request,
  env: Env,
  ctx: ExecutionContext,
) => Response | Promise<Response> {
  const app = createApp();
  const gateway = new Hono<AppEnv>().route('/', gatewayRoutes).route('/', llmRoutes).route('/', a2aRoutes);
  gateway.notFound((c) => app.fetch(c.req.raw, c.env, c.executionCtx));
  gateway.onError(onError);
  return (request, env, ctx) =>
    isGatewayPath(request.url) ? gateway.fetch(request, env, ctx) : app.fetch(request, env, ctx);
}

/** `/v1/…` or `/llm/…`, read off the URL without parsing it (the path starts at the first `/` after the scheme's `//`). */
function isGatewayPath(url: string): boolean {
  const path = url.indexOf('/', url.indexOf('//') + 2);
  return path !== -1 && (url.startsWith('/v1/', path) || url.startsWith('/llm/', path));
}

/**
 * The single mapping from errors to REST responses. Gateway routes answer in JSON-RPC and handle
 * their own errors (workers/gateway/gateway.call.ts), so only API errors get here.
 */
function onError(thrown: Error, c: Context<AppEnv>): Response {
  const err = thrown instanceof HTTPException ? fromHttpException(thrown) : toAppError(thrown);
  if (err.status >= 500) {
    // The id is made here, only for the failures that are logged: a middleware setting one on
    // every request cost every gateway call a random draw and a middleware turn.
    log('error', 'request failed', {
      requestId: randomId('req', 12),
      // The caller's path: a segment that looks like a credential is not logged (lib/echo.safe.ts).
      path: echoUrlPath(c.req.path),
      code: err.code,
      internal: err.internal ?? thrown,
    });
  }
  for (const [name, value] of Object.entries(err.headers)) c.header(name, value);
  return c.json(restErrorBody(err), err.status as 400);
}

/**
 * Hono and its validators throw HTTPException for problems found before a handler runs (a body
 * that is not JSON, a Content-Type the route does not take). Those become AppErrors here so they
 * answer in the one error shape instead of Hono's plain-text response or a 500.
 */
function fromHttpException(exception: HTTPException): AppError {
  if (exception.status === 400 && /json/i.test(exception.message)) {
    return new AppError('parse_error', {
      message: 'Request body is not valid JSON',
      details: { location: 'body' },
      internal: exception,
    });
  }
  if (exception.status === 415) {
    return new AppError('unsupported_media_type', {
      message: 'Content-Type must be application/json',
      details: { location: 'header', path: 'Content-Type' },
      internal: exception,
    });
  }
  const byStatus: Partial<Record<number, ErrorCode>> = {
    401: 'unauthorized',
    403: 'forbidden',
    404: 'not_found',
    405: 'method_not_allowed',
    406: 'not_acceptable',
    413: 'payload_too_large',
  };
  const code = byStatus[exception.status] ?? (exception.status < 500 ? 'bad_request' : 'internal');
  return new AppError(code, {
    ...(code === 'bad_request' ? { details: { location: 'body' } } : {}),
    internal: exception,
  });
}

export type App = ReturnType<typeof createApp>;
