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

/** The only scope that lets a token call the gateway; `offline_access` asks for a refresh token. */
export const GATEWAY_SCOPE = 'gateway:call';
export const SCOPES_SUPPORTED = [GATEWAY_SCOPE, 'offline_access'] as const;

export const AUTHORIZE_PATH = '/api/oauth/authorize';
export const TOKEN_PATH = '/token';
export const REGISTER_PATH = '/register';

/** Access tokens live an hour; refresh tokens rotate on use and the grant ends after 30 days. */
const ACCESS_TOKEN_TTL_SECONDS = 3600;
const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

/** What the consent step stores in a grant (encrypted by the library with the token). */
export interface OAuthGrantProps {
  orgId: string;
  connectionId: string;
  userId: string;
}

export type ResourceKind = 'mcp' | 'llm';

/** The gateway's public origin: PUBLIC_BASE_URL, or (local development) the request's origin. */
export function issuerOf(env: Pick<Env, 'PUBLIC_BASE_URL'>, requestUrl: string): string {
  return (env.PUBLIC_BASE_URL || new URL(requestUrl).origin).replace(/\/+$/, '');
}

/** The canonical resource (token audience) of one connection's route. */
export function resourceOf(issuer: string, kind: ResourceKind, slug: string): string {
  return `${issuer}/${kind === 'mcp' ? 'v1/mcp' : 'llm'}/${encodeURIComponent(slug)}`;
}

/** RFC 9728: the metadata document's URL, the resource's path inserted after the well-known prefix. */
export function resourceMetadataUrl(issuer: string, kind: ResourceKind, slug: string): string {
  const resource = new URL(resourceOf(issuer, kind, slug));
  return `${issuer}/.well-known/oauth-protected-resource${resource.pathname}`;
}

/** Parses a resource URL of ours back into connection kind and slug; null for anything else. */
export function parseResource(issuer: string, resource: string): { kind: ResourceKind; slug: string } | null {
  if (!resource.startsWith(`${issuer}/`)) return null;
  const match = /^\/(?:(v1\/mcp)|llm)\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})$/.exec(resource.slice(issuer.length));
  if (!match?.[2]) return null;
  return { kind: match[1] ? 'mcp' : 'llm', slug: match[2] };
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

/** Library tokens, codes and refresh tokens read `userId:grantId:secret`; `ig_` keys never contain ':'. */
export function looksLikeOAuthToken(token: string): boolean {
  const parts = token.split(':');
  return parts.length === 3 && parts.every((p) => p.length > 0);
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
