/**
 * The OAuth 2.1 surface (docs/oauth.md). The library (`@cloudflare/workers-oauth-provider`) answers
 * server metadata, registration, token and revocation; we answer each connection's RFC 9728
 * protected-resource metadata and the authorization endpoint (oauth.authorize.ts).
 */
import { Hono } from 'hono';
import type { AppEnv } from '../app.types';
import { showConsent, submitConsent } from './oauth.authorize';
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
import { oauthServer, tokenRequestResource } from './oauth.server';

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
      resource_name: `Igris Edge ${kind === 'mcp' ? 'MCP' : 'LLM'} connection ${slug}`,
      resource_documentation: 'https://github.com/igris-edge/igris-edge/blob/main/docs/oauth.md',
    });
  };
}

oauthRoutes.get('/.well-known/oauth-protected-resource/v1/mcp/:slug', protectedResource('mcp'));
oauthRoutes.get('/.well-known/oauth-protected-resource/llm/:slug', protectedResource('llm'));

// RFC 8414 metadata from the library, minus `protected_resources`: its registry here holds only a
// per-request placeholder, and every connection is a resource (each names us in its own metadata).
oauthRoutes.on(['GET', 'HEAD', 'OPTIONS'], '/.well-known/oauth-authorization-server', async (c) => {
  const issuer = issuerOf(c.env, c.req.url);
  const response = await oauthServer(issuer, null).fetch(c.req.raw, c.env, executionCtx(c));
  if (c.req.method !== 'GET' || !response.ok) return response;
  const metadata = (await response.json()) as Record<string, unknown>;
  delete metadata.protected_resources;
  const headers = new Headers(response.headers);
  headers.delete('Content-Length');
  return new Response(JSON.stringify(metadata), { status: 200, headers });
});

// RFC 7591 dynamic client registration: open (any MCP client may register; consent is per person).
oauthRoutes.on(['POST', 'OPTIONS'], REGISTER_PATH, (c) =>
  oauthServer(issuerOf(c.env, c.req.url), null).fetch(c.req.raw, c.env, executionCtx(c)),
);

// Token (authorization_code, refresh_token with rotation) and RFC 7009 revocation. The server is
// built for the resource of the grant the request is about (oauth.server.ts).
oauthRoutes.on(['POST', 'OPTIONS'], TOKEN_PATH, async (c) => {
  const issuer = issuerOf(c.env, c.req.url);
  let resource: string | null = null;
  if (
    c.req.method === 'POST' &&
    /application\/x-www-form-urlencoded/i.test(c.req.header('Content-Type') ?? '')
  ) {
    const form = new URLSearchParams(new TextDecoder().decode(await c.req.raw.clone().arrayBuffer()));
    const named = await tokenRequestResource(c.env, form);
    resource = named && parseResource(issuer, named) ? named : null;
  }
  return oauthServer(issuer, resource).fetch(c.req.raw, c.env, executionCtx(c));
});

oauthRoutes.get(AUTHORIZE_PATH, showConsent);
oauthRoutes.post(AUTHORIZE_PATH, submitConsent);
