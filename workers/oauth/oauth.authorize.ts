/**
 * `/api/oauth/authorize`: the authorization endpoint (under /api so the dashboard's
 * `igris.session_token` cookie, scoped to Path=/api, reaches it). GET validates the request with
 * the library, requires PKCE S256, finds the signed-in member's connections for the requested
 * resource and shows the consent page; POST (same origin, the library's one-time handle bound to
 * this browser by a `__Host-` cookie) records the grant and redirects to the client with `code`,
 * `state` and `iss`.
 */
import {
  AuthorizationError,
  type AuthRequest,
  authorizationErrorRedirect,
  CimdFetchError,
} from '@cloudflare/workers-oauth-provider';
import type { Context } from 'hono';
import type { AppEnv, Principal } from '../app.types';
import { authAuditStatement } from '../audit/audit.admin';
import { mayUseConnection } from '../auth/permissions';
import { type AuthSession, authenticateSession } from '../auth/session.auth';
import type { Role } from '../db/schema';
import { AppError } from '../lib/errors';
import { parseStoredJson } from '../lib/values';
import { type ConnectionSettings, readConnectionSettings } from '../shared/connection.settings';
import { cappedFormRequest } from './oauth.body';
import { type ConsentChoice, consentCsp, consentPage, messagePage } from './oauth.consent';
import { grantableScopes, oauthClientRefusal } from './oauth.policy';
import {
  GATEWAY_SCOPE,
  issuerOf,
  parseResource,
  type ResourceKind,
  SCOPES_SUPPORTED,
} from './oauth.resource';
import { type OAuthGrantProps, oauthServer } from './oauth.server';

type Ctx = Context<AppEnv>;

function html(
  body: string,
  status: number,
  headers: Headers = new Headers(),
  redirectUri: string | null = null,
): Response {
  headers.set('Content-Type', 'text/html; charset=utf-8');
  headers.set('Content-Security-Policy', consentCsp(redirectUri));
  headers.set('X-Frame-Options', 'DENY');
  headers.set('Cache-Control', 'no-store');
  // `same-origin`, not `no-referrer`: under `no-referrer` browsers send `Origin: null` with the
  // consent form's POST, which the Origin check below must refuse; `same-origin` still sends no
  // referrer to any other site (the client's redirect included).
  headers.set('Referrer-Policy', 'same-origin');
  return new Response(body, { status, headers });
}

function redirect(location: string, headers: Headers = new Headers()): Response {
  headers.set('Location', location);
  headers.set('Cache-Control', 'no-store');
  return new Response(null, { status: 302, headers });
}

/** The resource (our connection URL) the request names, and the server that knows only it. */
function resourceOfRequest(c: Ctx, resource: string | null) {
  const issuer = issuerOf(c.env, c.req.url);
  const parsed = resource ? parseResource(issuer, resource) : null;
  if (!resource || !parsed) return null;
  return { issuer, resource, ...parsed, server: oauthServer(issuer, resource) };
}

/** The signed-in person, or null (no cookie, or one that is expired, revoked or forged). */
async function signedIn(c: Ctx): Promise<AuthSession | null> {
  try {
    return await authenticateSession(c);
  } catch (err) {
    if (err instanceof AppError && err.code === 'unauthorized') return null;
    throw err;
  }
}

function signInPage(c: Ctx): Response {
  const dashboard = (c.env.DASHBOARD_ORIGINS ?? '').split(',')[0]?.trim() || issuerOf(c.env, c.req.url);
  return html(
    messagePage(
      'Sign in to continue',
      'Sign in to the Igris Edge dashboard, then reload this page to finish connecting the app.',
      {
        href: `${dashboard}/`,
        text: 'Open the dashboard',
      },
    ),
    401,
  );
}

interface ChoiceRow {
  connection_id: string;
  connection_name: string;
  created_by: string | null;
  settings: string;
  org_id: string;
  org_name: string;
  org_slug: string;
  role: Role;
}

/** The member's organizations holding a connection with this slug and type that they may use. */
async function choicesFor(
  env: Env,
  userId: string,
  slug: string,
  kind: ResourceKind,
  clientId: string,
): Promise<Array<ConsentChoice & { orgId: string; settings: ConnectionSettings }>> {
  const { results } = await env.DB.prepare(
    `SELECT c.id AS connection_id, c.name AS connection_name, c.created_by, c.settings,
       o.id AS org_id, o.name AS org_name, o.slug AS org_slug, m.role
     FROM members m JOIN organizations o ON o.id = m.org_id
     JOIN connections c ON c.org_id = m.org_id AND c.slug = ? AND c.type = ?
     WHERE m.user_id = ? ORDER BY o.name`,
  )
    .bind(slug, kind, userId)
    .all<ChoiceRow>();
  return results.flatMap((row) => {
    const principal: Principal = {
      kind: 'oauth',
      orgId: row.org_id,
      role: row.role,
      userId,
      apiKeyId: null,
      sessionId: null,
      actor: `user:${userId}`,
    };
    const settings = readConnectionSettings(parseStoredJson(row.settings));
    if (!mayUseConnection(principal, { createdBy: row.created_by, sharedWith: settings.sharedWith }))
      return [];
    // The connection's OAuth settings: off, or this client not approved for it (oauth.policy.ts).
    if (oauthClientRefusal(settings, clientId)) return [];
    return [
      {
        connectionId: row.connection_id,
        connectionName: row.connection_name,
        orgName: row.org_name,
        orgSlug: row.org_slug,
        role: row.role,
        orgId: row.org_id,
        settings,
      },
    ];
  });
}

async function emailOf(env: Env, userId: string): Promise<string> {
  const row = await env.DB.prepare('SELECT email FROM users WHERE id = ?')
    .bind(userId)
    .first<{ email: string }>();
  return row?.email ?? '';
}

/** Failures the library reports about the request: redirect when it is safe, else show them. */
function authorizationFailure(err: unknown): Response {
  if (err instanceof AuthorizationError && err.redirectTo) return redirect(err.redirectTo);
  if (err instanceof AuthorizationError) return html(messagePage('Cannot authorize', err.description), 400);
  if (err instanceof CimdFetchError)
    return html(messagePage('Cannot authorize', 'This app could not be verified.'), 400);
  throw err;
}

export async function showConsent(c: Ctx): Promise<Response> {
  const target = resourceOfRequest(c, c.req.query('resource') ?? null);
  if (!target) {
    return html(
      messagePage(
        'Cannot authorize',
        'The request must name an Igris connection as its resource (…/v1/mcp/<slug> or …/llm/<slug>).',
      ),
      400,
    );
  }
  const oauth = target.server.getOAuthApi(c.env);
  let request: AuthRequest;
  try {
    request = await oauth.parseAuthRequest(c.req.raw);
  } catch (err) {
    return authorizationFailure(err);
  }
  // OAuth 2.1 + MCP: PKCE with S256 for every client, confidential ones too.
  if (request.codeChallengeMethod !== 'S256' || !request.codeChallenge) {
    return redirect(
      authorizationErrorRedirect(
        request,
        'invalid_request',
        'PKCE with code_challenge_method=S256 is required',
      ),
    );
  }
  const session = await signedIn(c);
  if (!session) return signInPage(c);
  const choices = await choicesFor(c.env, session.userId, target.slug, target.kind, request.clientId);
  if (choices.length === 0) {
    return html(
      messagePage(
        'Nothing to authorize',
        `None of your organizations has a connection "${target.slug}" you may use with this app.`,
      ),
      403,
    );
  }
  const requested = request.scope.filter((s) => (SCOPES_SUPPORTED as readonly string[]).includes(s));
  const details = await oauth.describeConsent(request);
  const consent = await oauth.beginConsent(request);
  const page = consentPage({
    details,
    handle: consent.handle,
    resource: target.resource,
    slug: target.slug,
    email: await emailOf(c.env, session.userId),
    choices,
    scopes: requested.length > 0 ? requested : [GATEWAY_SCOPE, 'offline_access'],
  });
  return html(page, 200, consent.headers, request.redirectUri);
}

export async function submitConsent(c: Ctx): Promise<Response> {
  // The form posts only from this page: same origin (plus the handle's browser-bound cookie).
  const origin = c.req.header('Origin');
  if (origin !== new URL(issuerOf(c.env, c.req.url)).origin) {
    return html(messagePage('Cannot authorize', 'This form must be sent from the consent page.'), 403);
  }
  const session = await signedIn(c);
  if (!session) return signInPage(c);
  // The form is a handle, a decision, a connection and its scopes: read within the token endpoint's cap.
  const request = await cappedFormRequest(c.req.raw);
  if (request instanceof Response) return request;
  const form = await request.clone().formData();
  const handle = String(form.get('handle') ?? '');
  const issuer = issuerOf(c.env, c.req.url);
  // The handle names the stored request; the resource is read back from it, not from the form.
  const server = oauthServer(issuer, null);
  try {
    if (form.get('decision') !== 'approve') {
      const denied = await server.getOAuthApi(c.env).denyConsent(request, handle);
      return new Response(null, { status: 302, headers: denied.headers });
    }
    const scope = form.getAll('scope').map(String);
    const approved = await server.getOAuthApi(c.env).approveConsent(request, handle, { scope });
    const target = resourceOfRequest(c, approved.request.resource ?? null);
    if (!target) return html(messagePage('Cannot authorize', 'The request names no Igris connection.'), 400);
    const choices = await choicesFor(
      c.env,
      session.userId,
      target.slug,
      target.kind,
      approved.request.clientId,
    );
    const chosen = choices.find((choice) => choice.connectionId === form.get('connection'));
    if (!chosen) {
      return redirect(
        authorizationErrorRedirect(approved.request, 'access_denied', 'No connection you may use was chosen'),
        approved.headers,
      );
    }
    const props: OAuthGrantProps = {
      orgId: chosen.orgId,
      connectionId: chosen.connectionId,
      userId: session.userId,
    };
    const { redirectTo } = await target.server.getOAuthApi(c.env).completeAuthorization({
      request: approved.request,
      userId: session.userId,
      metadata: { orgId: chosen.orgId, connectionId: chosen.connectionId },
      // Only the scopes the chosen connection allows (its OAuth settings).
      scope: grantableScopes(chosen.settings, approved.request.scope),
      props,
    });
    // The grant is on the organization's audit trail (type auth), with the client and scopes.
    await authAuditStatement(c.env.DB, {
      action: 'auth.oauth_grant',
      orgId: chosen.orgId,
      userId: session.userId,
      email: (await emailOf(c.env, session.userId)).toLowerCase() || null,
      details: {
        clientId: approved.request.clientId,
        connectionId: chosen.connectionId,
        connectionSlug: target.slug,
        scope: grantableScopes(chosen.settings, approved.request.scope),
      },
    }).run();
    return redirect(redirectTo, approved.headers);
  } catch (err) {
    return authorizationFailure(err);
  }
}
