/**
 * Igris Edge as an OAuth 2.1 authorization server for MCP clients (docs/oauth.md), built on
 * `@cloudflare/workers-oauth-provider`: it owns token issuance, refresh rotation, revocation,
 * dynamic client registration, PKCE and the KV storage (`OAUTH_KV`); we own the consent page and
 * what a token means at the gateway.
 *
 * Every connection is its own protected resource (`<base>/v1/mcp/<slug>`, `<base>/llm/<slug>`), so
 * a token is bound to one connection's audience. The library fixes its resource registry at
 * construction, and slugs are data, so a server is built per request with the one resource that
 * request is about (construction is cheap: no I/O).
 */
import { OAuthAuthorizationServer } from '@cloudflare/workers-oauth-provider';
import {
  AUTHORIZE_PATH,
  looksLikeOAuthToken,
  REGISTER_PATH,
  SCOPES_SUPPORTED,
  TOKEN_PATH,
} from './oauth.resource';

/** Access tokens live an hour; refresh tokens rotate on use and the grant ends after 30 days. */
const ACCESS_TOKEN_TTL_SECONDS = 3600;
const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** What the consent step stores in a grant (encrypted by the library with the token). */
export interface OAuthGrantProps {
  orgId: string;
  connectionId: string;
  userId: string;
}

/**
 * An authorization server whose registry holds `resource` alone. Requests that are about no
 * particular resource (metadata, registration) get a placeholder under the issuer that names no
 * connection; it is removed from the published metadata (oauth.routes.ts).
 */
export function oauthServer(issuer: string, resource: string | null): OAuthAuthorizationServer<Env> {
  return new OAuthAuthorizationServer<Env>({
    issuer,
    resources: [resource ?? `${issuer}/v1/mcp`],
    authorizeEndpoint: AUTHORIZE_PATH,
    tokenEndpoint: TOKEN_PATH,
    clientRegistrationEndpoint: REGISTER_PATH,
    scopesSupported: [...SCOPES_SUPPORTED],
    accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTTL: REFRESH_TOKEN_TTL_SECONDS,
  });
}

/**
 * The resource a token-endpoint request is about: the grant's, read from the library's KV record
 * (`grant:<userId>:<grantId>`, its documented storage schema) for the code, refresh token or token
 * being revoked. A request naming `resource` must agree with the grant; the library checks that.
 */
export async function tokenRequestResource(env: Env, form: URLSearchParams): Promise<string | null> {
  const credential = form.get('code') ?? form.get('refresh_token') ?? form.get('token');
  if (credential && looksLikeOAuthToken(credential)) {
    const [userId, grantId] = credential.split(':');
    const grant = await env.OAUTH_KV.get<{ resource?: unknown }>(`grant:${userId}:${grantId}`, 'json');
    if (typeof grant?.resource === 'string') return grant.resource;
  }
  return form.get('resource');
}
