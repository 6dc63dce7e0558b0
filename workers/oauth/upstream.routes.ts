/**
 * Upstream mode's browser leg (docs/oauth.md#upstream-mode), under /api so the dashboard's sign-in
 * cookie reaches it:
 *
 *   GET /api/oauth/upstream/connect/<connectionId>   signed-in member who may use the connection →
 *                                                    302 to the upstream's consent (PKCE S256)
 *   GET /api/oauth/upstream/callback                 the upstream's answer → tokens redeemed and
 *                                                    stored encrypted for this member, audited
 *
 * The `state` is the attempt itself, encrypted by the vault (upstream.tokens.ts), and names the
 * member who started it: a callback in anyone else's browser session is refused, so nobody can
 * plant their upstream account on another member.
 */
import { type Context, Hono } from 'hono';
import type { AppEnv, Principal } from '../app.types';
import { dashboardBaseUrl } from '../auth/auth.reset';
import { mayUseConnection } from '../auth/permissions';
import { type AuthSession, authenticateSession } from '../auth/session.auth';
import type { Role } from '../db/schema';
import { upstreamCredential } from '../gateway/gateway.connection';
import { AppError } from '../lib/errors';
import { log } from '../lib/log';
import { parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { oauthAuditStatement } from './oauth.audit';
import { consentCsp, messagePage } from './oauth.consent';
import { issuerOf } from './oauth.resource';
import { authorizationUrl, newPkce, redeemCode, upstreamClient } from './upstream.client';
import {
  openLinkState,
  sealLinkState,
  storeTokens,
  UPSTREAM_CALLBACK_PATH,
  UPSTREAM_CONNECT_PATH,
} from './upstream.tokens';

type Ctx = Context<AppEnv>;

export const upstreamOAuthRoutes = new Hono<AppEnv>();

function page(
  title: string,
  message: string,
  status: number,
  link?: { href: string; text: string },
): Response {
  return new Response(messagePage(title, message, link), {
    status,
    headers: {
      'Content-Type': 'text/html; charset=utf-8',
      'Content-Security-Policy': consentCsp(null),
      'Cache-Control': 'no-store',
      'Referrer-Policy': 'no-referrer',
      'X-Frame-Options': 'DENY',
    },
  });
}

async function signedIn(c: Ctx): Promise<AuthSession | null> {
  try {
    return await authenticateSession(c);
  } catch (err) {
    if (err instanceof AppError && err.code === 'unauthorized') return null;
    throw err;
  }
}

const signInFirst = () =>
  page('Sign in to continue', 'Sign in to the Igris Edge dashboard, then open this link again.', 401);

interface LinkableRow {
  id: string;
  org_id: string;
  slug: string;
  created_by: string | null;
  settings: string;
  credential_ciphertext: string | null;
  auth_type: 'bearer' | 'header' | 'query' | 'none';
  role: Role;
}

/** The connection, if the person is a member of its organization who may use it. */
async function linkable(env: Env, connectionId: string, userId: string) {
  const row = await env.DB.prepare(
    `SELECT c.id, c.org_id, c.slug, c.created_by, c.settings, c.credential_ciphertext, c.auth_type, m.role
     FROM connections c JOIN members m ON m.org_id = c.org_id AND m.user_id = ? WHERE c.id = ?`,
  )
    .bind(userId, connectionId)
    .first<LinkableRow>();
  if (!row) return null;
  const settings = readConnectionSettings(parseStoredJson(row.settings));
  const principal: Principal = {
    kind: 'session',
    orgId: row.org_id,
    role: row.role,
    userId,
    apiKeyId: null,
    sessionId: null,
    actor: `user:${userId}`,
  };
  if (!mayUseConnection(principal, { createdBy: row.created_by, sharedWith: settings.sharedWith }))
    return null;
  if (!settings.upstreamOAuth) return null;
  const clientSecret = await upstreamCredential(env, {
    id: row.id,
    orgId: row.org_id,
    slug: row.slug,
    type: 'mcp',
    upstreamUrl: '',
    authType: row.auth_type,
    authHeaderName: null,
    credentialCiphertext: row.credential_ciphertext,
    enabled: true,
    settings,
    createdBy: row.created_by,
  });
  return { row, upstream: settings.upstreamOAuth, clientSecret };
}

const redirectUriOf = (c: Ctx) => `${issuerOf(c.env, c.req.url)}${UPSTREAM_CALLBACK_PATH}`;

/**
 * The way back to the connection's dashboard page, where linking starts ("Your account at …").
 * Built from the configured dashboard origin, never from the request's parameters, so it cannot
 * be turned into a redirect to someone else's site.
 */
const backToDashboard = (c: Ctx, slug: string) => ({
  href: `${dashboardBaseUrl(c.env, c.req.url)}/connections/${encodeURIComponent(slug)}`,
  text: `Back to ${slug} in the dashboard`,
});

upstreamOAuthRoutes.get(`${UPSTREAM_CONNECT_PATH}/:connectionId`, async (c) => {
  const session = await signedIn(c);
  if (!session) return signInFirst();
  const target = await linkable(c.env, c.req.param('connectionId'), session.userId);
  if (!target) {
    return page(
      'Nothing to connect',
      'No connection you may use asks for your own upstream account here.',
      404,
    );
  }
  const client = await upstreamClient(c.env, target.upstream, target.clientSecret);
  const pkce = newPkce();
  const state = await sealLinkState(c.env, {
    orgId: target.row.org_id,
    connectionId: target.row.id,
    userId: session.userId,
    verifier: pkce.verifier,
  });
  const location = authorizationUrl(client, redirectUriOf(c), state, await pkce.challenge);
  return new Response(null, { status: 302, headers: { Location: location, 'Cache-Control': 'no-store' } });
});

upstreamOAuthRoutes.get(UPSTREAM_CALLBACK_PATH, async (c) => {
  const session = await signedIn(c);
  if (!session) return signInFirst();
  const sealed = c.req.query('state') ?? '';
  const state = sealed ? await openLinkState(c.env, sealed) : null;
  if (!state || state.userId !== session.userId) {
    return page('Cannot connect', 'This link is expired or was started by someone else: start again.', 400);
  }
  if (c.req.query('error')) {
    return page('Not connected', 'The upstream did not grant access. You can start again at any time.', 400);
  }
  const target = await linkable(c.env, state.connectionId, session.userId);
  if (!target) return page('Nothing to connect', 'You may no longer use this connection.', 404);
  let tokens: Awaited<ReturnType<typeof redeemCode>>;
  try {
    const client = await upstreamClient(c.env, target.upstream, target.clientSecret);
    tokens = await redeemCode(client, new URL(c.req.url), sealed, redirectUriOf(c), state.verifier);
  } catch (err) {
    log('warn', 'upstream oauth code redemption failed', { err, connectionId: state.connectionId });
    return page(
      'Not connected',
      'The upstream refused to complete the sign-in: start again.',
      502,
      backToDashboard(c, target.row.slug),
    );
  }
  // The link and its record in one batch: a failed audit write stores no token, and the person
  // gets an error page, never "Connected".
  const record = await oauthAuditStatement(c.env.DB, {
    action: 'auth.oauth_upstream_link',
    orgId: state.orgId,
    userId: session.userId,
    details: {
      connectionId: state.connectionId,
      connectionSlug: target.row.slug,
      issuer: target.upstream.issuer,
    },
  });
  try {
    await storeTokens(
      c.env,
      { orgId: state.orgId, connectionId: state.connectionId, userId: session.userId },
      tokens,
      record,
    );
  } catch (err) {
    log('error', 'upstream oauth link not stored', { err, connectionId: state.connectionId });
    return page(
      'Not connected',
      'Nothing was connected: start again.',
      500,
      backToDashboard(c, target.row.slug),
    );
  }
  return page(
    'Connected',
    `Your account is connected: calls you make through "${target.row.slug}" now use it. You can close this page.`,
    200,
    backToDashboard(c, target.row.slug),
  );
});
