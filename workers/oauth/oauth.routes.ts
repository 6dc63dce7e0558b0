/**
 * The OAuth 2.1 surface (docs/oauth.md). The library (`@cloudflare/workers-oauth-provider`) answers
 * server metadata, registration, token and revocation; we answer each connection's RFC 9728
 * protected-resource metadata and the authorization endpoint (oauth.authorize.ts).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app.types';
import { announceConfigChange } from '../config/config.epoch';
import { log } from '../lib/log';
import { helpers } from './oauth.admin';
import { auditOAuthQuietly, grantOfTokenRequest, readGrant, type StoredGrant } from './oauth.audit';
import { showConsent, submitConsent } from './oauth.authorize';
import { cappedFormRequest } from './oauth.body';
import { registrationLimited } from './oauth.limits';
import { recordIssuedRefresh, refuseReusedRefresh } from './oauth.refresh-reuse';
import { registrationRefusal } from './oauth.registration';
import {
  AUTHORIZE_PATH,
  GATEWAY_SCOPE,
  issuerOf,
  parseResource,
  REGISTER_PATH,
  type ResourceKind,
  resourceOf,
  TOKEN_PATH,
} from './oauth.resource';
import { oauthServer } from './oauth.server';
import { upstreamOAuthRoutes } from './upstream.routes';
import { exchangeIdJag, JWT_BEARER_GRANT, xaaServerOptions } from './xaa.exchange';
import { xaaEnabled } from './xaa.store';

export const oauthRoutes = new Hono<AppEnv>();

type Ctx = import('hono').Context<AppEnv>;

/** Hono's ExecutionContext type lags the runtime's; the object is the runtime's own. */
function executionCtx(c: Ctx): ExecutionContext {
  return c.executionCtx as unknown as ExecutionContext;
}

/** RFC 9728 metadata of one connection's route. It exists for any slug: it reveals nothing. */
function protectedResource(kind: ResourceKind) {
  return (c: Ctx) => {
    const issuer = issuerOf(c.env, c.req.url);
    const slug = c.req.param('slug') ?? '';
    const resource = resourceOf(issuer, kind, slug);
    if (!parseResource(issuer, resource))
      return c.json({ error: { code: 'not_found', message: 'Not found' } }, 404);
    c.header('Access-Control-Allow-Origin', '*');
    c.header('Cache-Control', 'public, max-age=300');
    return c.json({
      resource,
      authorization_servers: [issuer],
      scopes_supported: [GATEWAY_SCOPE],
      bearer_methods_supported: ['header'],
      resource_name: `Igris Edge ${kind.toUpperCase()} connection ${slug}`,
      resource_documentation: 'https://github.com/igris-edge/igris-edge/blob/main/docs/oauth.md',
    });
  };
}

oauthRoutes.get('/.well-known/oauth-protected-resource/v1/mcp/:slug', protectedResource('mcp'));
oauthRoutes.get('/.well-known/oauth-protected-resource/llm/:slug', protectedResource('llm'));
oauthRoutes.get('/.well-known/oauth-protected-resource/v1/a2a/:slug', protectedResource('a2a'));

// RFC 8414 metadata from the library, minus `protected_resources`: its registry here holds only a
// per-request placeholder, and every connection is a resource (each names us in its own metadata).
oauthRoutes.on(['GET', 'HEAD', 'OPTIONS'], '/.well-known/oauth-authorization-server', async (c) => {
  const issuer = issuerOf(c.env, c.req.url);
  // With Cross App Access on, the metadata lists the jwt-bearer grant too.
  const extra = xaaEnabled(c.env) ? xaaServerOptions({ asIssuer: issuer, resource: null }) : {};
  const response = await oauthServer(issuer, null, extra).fetch(c.req.raw, c.env, executionCtx(c));
  if (c.req.method !== 'GET' || !response.ok) return response;
  const metadata = (await response.json()) as Record<string, unknown>;
  delete metadata.protected_resources;
  const headers = new Headers(response.headers);
  headers.delete('Content-Length');
  return new Response(JSON.stringify(metadata), { status: 200, headers });
});

// RFC 7591 dynamic client registration: open (any MCP client may register; consent is per person,
// and a connection may accept approved clients only), limited per client address because it is
// anonymous and each registration is stored (oauth.limits.ts).
oauthRoutes.on(['POST', 'OPTIONS'], REGISTER_PATH, async (c) => {
  if (c.req.method === 'POST') {
    const limited = await registrationLimited(c.env, c.req.header('CF-Connecting-IP') ?? null);
    if (limited) return limited;
  }
  // Every list and string the client stores is bounded (oauth.registration.ts); the library
  // refuses over the bounds in RFC 7591's error shape, before anything is stored.
  const bounded = {
    clientRegistrationCallback: ({ clientMetadata }: { clientMetadata: Record<string, unknown> }) =>
      registrationRefusal(clientMetadata),
  };
  return oauthServer(issuerOf(c.env, c.req.url), null, bounded).fetch(c.req.raw, c.env, executionCtx(c));
});

// Token (authorization_code, refresh_token with rotation, and with CROSS_APP_ACCESS=on the ID-JAG
// jwt-bearer grant: xaa.exchange.ts) and RFC 7009 revocation. The server is
// built for the resource of the grant the request is about (oauth.server.ts); a revocation the
// library accepted is audited in the grant's organization (refreshes are, by oauth.server.ts).
oauthRoutes.on(['POST', 'OPTIONS'], TOKEN_PATH, async (c) => {
  // The body is read once, within its cap (oauth.body.ts); everything below reads `request`.
  const request = c.req.method === 'POST' ? await cappedFormRequest(c.req.raw) : c.req.raw;
  if (request instanceof Response) return request;
  const issuer = issuerOf(c.env, c.req.url);
  let resource: string | null = null;
  let form: URLSearchParams | null = null;
  let grant: StoredGrant | null = null;
  if (
    c.req.method === 'POST' &&
    /application\/x-www-form-urlencoded/i.test(c.req.header('Content-Type') ?? '')
  ) {
    form = new URLSearchParams(new TextDecoder().decode(await request.clone().arrayBuffer()));
    if (form.get('grant_type') === JWT_BEARER_GRANT && xaaEnabled(c.env)) {
      return exchangeIdJag(c.env, issuer, form, (server) => server.fetch(request, c.env, executionCtx(c)));
    }
    grant = await grantOfTokenRequest(c.env, form);
    const named = grant?.resource ?? form.get('resource');
    resource = named && parseResource(issuer, named) ? named : null;
  }
  const grantType = form?.get('grant_type');
  // A refresh token presented after it was rotated away revokes its grant (oauth.refresh-reuse.ts).
  const refreshToken = grantType === 'refresh_token' ? form?.get('refresh_token') : null;
  if (grant && refreshToken) {
    const refused = await refuseReusedRefresh(c.env, issuer, grant, refreshToken);
    if (refused) return refused;
  }
  const isRevocation = form?.has('token') && !form.has('grant_type');
  const revoking = isRevocation && grant ? await liveBefore(c, issuer, form!.get('token')!) : false;
  const response = await oauthServer(issuer, resource).fetch(request, c.env, executionCtx(c));
  if (grant && (grantType === 'authorization_code' || grantType === 'refresh_token'))
    await recordIssuedRefresh(c.env, grant, response);
  if (isRevocation && response.ok && grant?.orgId) {
    // Gateways keep resolved OAuth callers in memory (oauth.cache.ts): a token or grant this
    // request revoked must be refused by the next call everywhere, before the answer. This route
    // is not under /api/v1, so the announcing middleware does not see it.
    if (await revokedNow(c, issuer, grant, form!.get('token')!, revoking)) {
      await announceConfigChange(c.env, grant.orgId).catch((err: unknown) => {
        log('error', 'OAuth revocation not announced; gateways drop the token within the cache bound', {
          orgId: grant?.orgId,
          err,
        });
      });
    }
    await auditOAuthQuietly(c.env.DB, {
      action: 'auth.oauth_revoke',
      orgId: grant.orgId,
      userId: grant.userId,
      details: {
        by: 'client',
        clientId: grant.clientId,
        grantId: grant.id,
        connectionId: grant.connectionId,
        tokenTypeHint: form?.get('token_type_hint') ?? null,
      },
    });
  }
  return response;
});

/** Whether the token named in a revocation request is a live access token right now. */
async function liveBefore(c: Ctx, issuer: string, token: string): Promise<boolean> {
  return (await helpers(c.env, issuer).unwrapToken(token)) !== null;
}

/**
 * Whether the revocation request just answered took something away: the grant is gone (a refresh
 * token was revoked) or the access token that was live is no longer. RFC 7009 answers 200 either
 * way, so only an effective revocation is announced (an unauthenticated request that revoked
 * nothing does not make every gateway re-read its organization).
 */
async function revokedNow(
  c: Ctx,
  issuer: string,
  grant: StoredGrant,
  token: string,
  accessWasLive: boolean,
): Promise<boolean> {
  if ((await readGrant(c.env, grant.userId, grant.id)) === null) return true;
  return accessWasLive && (await helpers(c.env, issuer).unwrapToken(token)) === null;
}

oauthRoutes.get(AUTHORIZE_PATH, showConsent);
// Upstream mode: a member links their own account at a connection's upstream (upstream.routes.ts).
oauthRoutes.route('/', upstreamOAuthRoutes);
oauthRoutes.post(AUTHORIZE_PATH, submitConsent);
