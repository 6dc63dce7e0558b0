/**
 * `/api/auth/oauth/*` — browser redirects of OAuth sign-in (oauth.flow.ts has the protocol).
 *
 * Errors before the state is accepted (unknown, forged, expired, reused, or not this browser's)
 * answer 403 `csrf_failed` as JSON: with no trusted state there is no trusted place to send the
 * browser. Failures after it (the user declined, the provider failed, the email is unverified)
 * redirect back to the dashboard target with `?auth_error=<code>`.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import { errorResponses } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import type { AppEnv } from '../app.types';
import { echoText } from '../lib/echo.safe';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { timingSafeEqual } from './api-key.crypto';
import { dashboardBaseUrl, openSession } from './auth.service';
import { allowedOrigins } from './csrf.check';
import { resolveOAuthUser } from './oauth.accounts';
import {
  completeAuthorization,
  consumeState,
  OAUTH_STATE_COOKIE,
  OAUTH_STATE_TTL_SECONDS,
  OAuthFailure,
  startAuthorization,
} from './oauth.flow';
import { configuredProviders, type OAuthProvider, providerConfig, providerSchema } from './oauth.providers';
import { clientContext, setSessionCookie } from './session.auth';

const STATE_COOKIE_PATH = '/api/auth/oauth';
const tags = ['Auth OAuth'];
const providerParams = z.object({ provider: providerSchema });
const redirect = { 302: { description: 'Redirect' } };

function callbackUrl(c: Context<AppEnv>, provider: OAuthProvider): string {
  const base = (c.env.PUBLIC_BASE_URL || new URL(c.req.url).origin).replace(/\/+$/, '');
  return `${base}/api/auth/oauth/${provider}/callback`;
}

/** Where to send the browser afterwards: a dashboard path, or a URL on an allowed origin — never elsewhere. */
export function safeRedirectTarget(env: Env, requestUrl: string, wanted: string | undefined): string {
  const base = dashboardBaseUrl(env, requestUrl);
  let target: URL;
  try {
    target = new URL(wanted || '/', `${base}/`);
  } catch {
    target = new URL('/', `${base}/`);
  }
  const relative = !wanted || (wanted.startsWith('/') && !/^\/[/\\]/.test(wanted));
  const sameAsBase = target.origin === new URL(base).origin;
  if ((relative && sameAsBase) || (!relative && allowedOrigins(env, requestUrl).has(target.origin))) {
    return target.toString();
  }
  throw new AppError('validation_failed', {
    message: 'redirectTo must be a dashboard path or a URL on an allowed origin',
    details: {
      issues: [{ location: 'query', path: 'redirectTo', message: 'Not an allowed redirect target' }],
    },
  });
}

function withAuthError(target: string, code: string): string {
  const url = new URL(target);
  url.searchParams.set('auth_error', code);
  return url.toString();
}

function notConfigured(provider: string): AppError {
  return new AppError('not_found', {
    message: `Sign-in with ${provider} is not configured`,
    details: { location: 'path', path: 'provider' },
  });
}

function stateRefused(message: string): AppError {
  return new AppError('csrf_failed', { message, details: { location: 'query', path: 'state' } });
}

export const oauthRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/oauth/providers',
      tags,
      summary: 'OAuth providers configured on this instance',
      responses: {
        200: {
          content: { 'application/json': { schema: z.object({ providers: z.array(providerSchema) }) } },
          description: 'Providers',
        },
      },
    }),
    (c) => c.json({ providers: configuredProviders(c.env) }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/oauth/{provider}/start',
      tags,
      summary: 'Start OAuth sign-in: redirects to the provider (PKCE S256 + state)',
      request: { params: providerParams, query: z.object({ redirectTo: z.string().max(2000).optional() }) },
      responses: { ...redirect, ...errorResponses },
    }),
    async (c) => {
      const { provider } = c.req.valid('param');
      const config = providerConfig(c.env, provider);
      if (!config) throw notConfigured(provider);
      const target = safeRedirectTarget(c.env, c.req.url, c.req.valid('query').redirectTo);
      const { location, state } = await startAuthorization(
        c.env.DB,
        config,
        callbackUrl(c, provider),
        target,
      );
      // Binds the flow to this browser; Lax is enough (the callback is a top-level navigation).
      setCookie(c, OAUTH_STATE_COOKIE, state, {
        httpOnly: true,
        secure: true,
        sameSite: 'Lax',
        path: STATE_COOKIE_PATH,
        maxAge: OAUTH_STATE_TTL_SECONDS,
      });
      return c.redirect(location, 302);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/oauth/{provider}/callback',
      tags,
      summary:
        'OAuth redirect target: checks state, exchanges the code, signs in, redirects to the dashboard',
      request: {
        params: providerParams,
        query: z.object({
          code: z.string().max(2000).optional(),
          state: z.string().max(200).optional(),
          error: z.string().max(200).optional(),
        }),
      },
      responses: { ...redirect, ...errorResponses },
    }),
    async (c) => {
      const { provider } = c.req.valid('param');
      const config = providerConfig(c.env, provider);
      if (!config) throw notConfigured(provider);
      const { code, state, error } = c.req.valid('query');
      const browserState = getCookie(c, OAUTH_STATE_COOKIE);
      deleteCookie(c, OAUTH_STATE_COOKIE, {
        path: STATE_COOKIE_PATH,
        secure: true,
        httpOnly: true,
        sameSite: 'Lax',
      });
      if (!state) throw stateRefused('OAuth state missing');
      // Consumed first, whatever comes next: a state is good for one attempt only.
      const consumed = await consumeState(c.env.DB, provider, state);
      if (!consumed) throw stateRefused('OAuth state is invalid, expired or already used');
      if (!browserState || !timingSafeEqual(browserState, state)) {
        throw stateRefused('OAuth state was not issued to this browser');
      }
      try {
        // The callback's `error` is whoever sent the browser here: echo-safe in the log line.
        if (error) throw new OAuthFailure('access_denied', { error: echoText(error) });
        if (!code) throw new OAuthFailure('provider_error', 'callback without code');
        const identity = await completeAuthorization(
          config,
          code,
          consumed.codeVerifier,
          callbackUrl(c, provider),
        );
        const { userId, email, created } = await resolveOAuthUser(c.env.DB, provider, identity);
        const { session } = await openSession(c.env, userId, clientContext(c), {
          audit: { action: created ? 'auth.sign_up' : 'auth.sign_in', method: provider, email },
        });
        setSessionCookie(c, session.token);
        return c.redirect(consumed.redirectTo, 302);
      } catch (err) {
        if (!(err instanceof OAuthFailure)) throw err;
        log('warn', 'oauth sign-in failed', { provider, code: err.code, internal: err.internal });
        return c.redirect(withAuthError(consumed.redirectTo, err.code), 302);
      }
    },
  );
