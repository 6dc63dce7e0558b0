/**
 * `/api/auth/*` — people: sign-up, sign-in, sessions, passwords, their organizations and
 * invitations, and OAuth (oauth.routes.ts). docs/auth.md describes the flows.
 *
 * Endpoints that need a signed-in person call requireSession(), which also applies both CSRF
 * checks to state-changing requests. The cookie-less writes (sign-up, sign-in, reset) still
 * refuse a foreign Origin, against login CSRF.
 */
import { createRoute, z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { capApiBody } from '../api/api.body-limit';
import { errorResponses, json, jsonBody, withBodyCaps } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import type { AppEnv } from '../app.types';
import { ensureBootstrapped } from '../bootstrap/bootstrap';
import { consumeCreation, signUpKeys } from './auth.limiter';
import { organizationRoutes } from './auth.organizations.routes';
import {
  changePasswordSchema,
  resetConfirmSchema,
  resetRequestSchema,
  sessionSchema,
  signInSchema,
  signUpSchema,
} from './auth.schemas';
import {
  changePassword,
  confirmPasswordReset,
  mailBaseUrl,
  requestPasswordReset,
  sessionView,
  signIn,
  signOut,
  signOutEverywhere,
  signUp,
} from './auth.service';
import { checkOrigin } from './csrf.check';
import { oauthRoutes } from './oauth.routes';
import { clearSessionCookie, clientContext, requireSession, setSessionCookie } from './session.auth';

const authErrors = {
  ...errorResponses,
  429: { ...errorResponses[401], description: 'Too many failed attempts (Retry-After says when to retry)' },
  503: { ...errorResponses[401], description: 'Sign-in limiter unreachable: refused (fail closed)' },
};

/** Cookie-less writes: refuse a browser on a foreign origin (login CSRF); allow non-browser clients. */
function checkAnonymousOrigin(c: Context<AppEnv>): void {
  checkOrigin(c.env, c.req.url, c.req.header('Origin'), false);
}

const accountRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/sign-up',
      tags: ['Auth'],
      summary: 'Create an account (and a personal organization, unless an invitation is given); signs in',
      request: jsonBody(signUpSchema),
      responses: { 201: json(sessionSchema, 'Signed in; the session cookie is set'), ...authErrors },
    }),
    async (c) => {
      checkAnonymousOrigin(c);
      // Anonymous writes into the shared D1: bounded per client address before any work.
      await consumeCreation(c.env, signUpKeys(clientContext(c).ip), 'sign-ups');
      const { session, view } = await signUp(c.env, c.req.valid('json'), clientContext(c));
      setSessionCookie(c, session.token);
      return c.json(view, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sign-in',
      tags: ['Auth'],
      summary: 'Sign in with email and password',
      request: jsonBody(signInSchema),
      responses: { 200: json(sessionSchema, 'Signed in; the session cookie is set'), ...authErrors },
    }),
    async (c) => {
      checkAnonymousOrigin(c);
      const { session, view } = await signIn(
        c.env,
        (work) => c.executionCtx.waitUntil(work),
        c.req.valid('json'),
        clientContext(c),
      );
      setSessionCookie(c, session.token);
      return c.json(view, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/session',
      tags: ['Auth'],
      summary: 'The current session: user, organizations, active organization and CSRF token',
      responses: { 200: json(sessionSchema, 'The session'), ...errorResponses },
    }),
    async (c) => {
      const session = await requireSession(c);
      return c.json(await sessionView(c.env.DB, session), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sign-out',
      tags: ['Auth'],
      summary: 'Sign out this session (refused on its next request)',
      responses: { 200: json(z.object({ signedOut: z.literal(true) }), 'Signed out'), ...errorResponses },
    }),
    async (c) => {
      const session = await requireSession(c);
      await signOut(c.env, session);
      clearSessionCookie(c);
      return c.json({ signedOut: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sign-out-everywhere',
      tags: ['Auth'],
      summary: 'Sign out every session of this user, this one included',
      responses: {
        200: json(z.object({ signedOut: z.literal(true), sessions: z.number().int() }), 'Signed out'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const session = await requireSession(c);
      const sessions = await signOutEverywhere(c.env, session);
      clearSessionCookie(c);
      return c.json({ signedOut: true as const, sessions }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/password',
      tags: ['Auth'],
      summary: "Change the signed-in user's password (other sessions are signed out)",
      request: jsonBody(changePasswordSchema),
      responses: { 200: json(z.object({ changed: z.literal(true) }), 'Changed'), ...authErrors },
    }),
    async (c) => {
      const session = await requireSession(c);
      await changePassword(c.env, session, c.req.valid('json'));
      return c.json({ changed: true as const }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/password/reset',
      tags: ['Auth'],
      summary: 'Mail a password reset token (same answer whether or not the account exists)',
      request: jsonBody(resetRequestSchema),
      responses: { 202: json(z.object({ accepted: z.literal(true) }), 'Accepted'), ...authErrors },
    }),
    async (c) => {
      checkAnonymousOrigin(c);
      await requestPasswordReset(c.env, c.req.valid('json').email, mailBaseUrl(c.env, c.req.url));
      return c.json({ accepted: true as const }, 202);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/password/reset/confirm',
      tags: ['Auth'],
      summary: 'Set a new password with a reset token (single use); every session is signed out',
      request: jsonBody(resetConfirmSchema),
      responses: { 200: json(z.object({ reset: z.literal(true) }), 'Password set'), ...authErrors },
    }),
    async (c) => {
      checkAnonymousOrigin(c);
      const { token, newPassword } = c.req.valid('json');
      await confirmPasswordReset(c.env, token, newPassword);
      return c.json({ reset: true as const }, 200);
    },
  );

export const authRoutes = createRouter();

// A person may be the first to arrive on a fresh instance: organization "default" and its owner
// key are created before anything else, exactly as for the management API.
authRoutes.use('*', async (c, next) => {
  await ensureBootstrapped(c.env);
  await next();
});
// Anonymous callers reach these routes: their bodies are capped before any validator reads them
// (api.body-limit.ts AUTH_BODY_BYTES), as the management API's are.
authRoutes.use('*', capApiBody);
authRoutes.route('/', accountRoutes);
authRoutes.route('/', organizationRoutes);
authRoutes.route('/', oauthRoutes);

authRoutes.get('/openapi.json', (c) =>
  c.json(
    withBodyCaps(
      authRoutes.getOpenAPI31Document({
        openapi: '3.1.0',
        info: { title: 'Igris Edge people sign-in API', version: '1.0.0' },
        servers: [{ url: '/api/auth' }],
      }),
      '/api/auth',
    ),
  ),
);
