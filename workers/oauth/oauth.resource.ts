/**
 * Pure parts of the OAuth surface (no bindings, no library import, so plain-Node tests can load them):
 * the scopes, paths, and the mapping between connections and resource URLs (token audiences).
 */

/** The only scope that lets a token call the gateway; `offline_access` asks for a refresh token. */
export const GATEWAY_SCOPE = 'gateway:call';
export const SCOPES_SUPPORTED = [GATEWAY_SCOPE, 'offline_access'] as const;

export const AUTHORIZE_PATH = '/api/oauth/authorize';
export const TOKEN_PATH = '/token';
export const REGISTER_PATH = '/register';

export type ResourceKind = 'mcp' | 'llm' | 'a2a';

/** Where each kind of connection is served: its route prefix is its resource's path prefix. */
const ROUTE_PREFIX: Record<ResourceKind, string> = { mcp: 'v1/mcp', llm: 'llm', a2a: 'v1/a2a' };

/** The gateway's public origin: PUBLIC_BASE_URL, or (local development) the request's origin. */
export function issuerOf(env: { PUBLIC_BASE_URL?: string }, requestUrl: string): string {
  return (env.PUBLIC_BASE_URL || new URL(requestUrl).origin).replace(/\/+$/, '');
}

/** The canonical resource (token audience) of one connection's route. */
export function resourceOf(issuer: string, kind: ResourceKind, slug: string): string {
  return `${issuer}/${ROUTE_PREFIX[kind]}/${encodeURIComponent(slug)}`;
}

/** RFC 9728: the metadata document's URL, the resource's path inserted after the well-known prefix. */
export function resourceMetadataUrl(issuer: string, kind: ResourceKind, slug: string): string {
  const resource = new URL(resourceOf(issuer, kind, slug));
  return `${issuer}/.well-known/oauth-protected-resource${resource.pathname}`;
}

/** Parses a resource URL of ours back into connection kind and slug; null for anything else. */
export function parseResource(issuer: string, resource: string): { kind: ResourceKind; slug: string } | null {
  if (!resource.startsWith(`${issuer}/`)) return null;
  const match = /^\/(v1\/mcp|v1\/a2a|llm)\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})$/.exec(
    resource.slice(issuer.length),
  );
  if (!match?.[1] || !match[2]) return null;
  const kind = (Object.keys(ROUTE_PREFIX) as ResourceKind[]).find((k) => ROUTE_PREFIX[k] === match[1]);
  return kind ? { kind, slug: match[2] } : null;
}

/** Library tokens, codes and refresh tokens read `userId:grantId:secret`; `ig_` keys never contain ':'. */
export function looksLikeOAuthToken(token: string): boolean {
  const parts = token.split(':');
  return parts.length === 3 && parts.every((p) => p.length > 0);
}

/** What an A2A AgentCard says about Igris as the agent's OAuth server (workers/a2a/a2a.card.ts). */
export function cardOAuthOf(issuer: string) {
  return {
    metadataUrl: `${issuer}/.well-known/oauth-authorization-server`,
    authorizationUrl: `${issuer}${AUTHORIZE_PATH}`,
    tokenUrl: `${issuer}${TOKEN_PATH}`,
    scope: GATEWAY_SCOPE,
  };
}
