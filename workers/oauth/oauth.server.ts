/**
 * Igris Edge as an OAuth 2.1 authorization server for MCP clients (docs/oauth.md), built on
 * `@cloudflare/workers-oauth-provider`: it owns token issuance, refresh rotation, revocation,
 * dynamic client registration, PKCE and the KV storage (`OAUTH_KV`); we own the consent page and
 * what a token means at the gateway.
 *
 * Every connection is its own protected resource (`<base>/v1/mcp/<slug>`, `<base>/llm/<slug>`), so
 * a token is bound to one connection's audience. The library fixes its resource registry at
 * construction, and slugs are data, so a server is built per request with the one resource that
 * request is about (construction is cheap: no I/O). `extra` adds per-request options (Cross App
 * Access's callbacks, xaa.exchange.ts).
 */
import {
  OAuthAuthorizationServer,
  type OAuthAuthorizationServerOptions,
  type TokenExchangeCallbackOptions,
  type TokenExchangeCallbackResult,
} from '@cloudflare/workers-oauth-provider';
import { parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { auditOAuthQuietly } from './oauth.audit';
import { gatewayOAuthOf } from './oauth.policy';
import { AUTHORIZE_PATH, REGISTER_PATH, SCOPES_SUPPORTED, TOKEN_PATH } from './oauth.resource';

/** Access tokens live an hour; refresh tokens rotate on use and the grant ends after 30 days. */
const ACCESS_TOKEN_TTL_SECONDS = 3600;
export const REFRESH_TOKEN_TTL_SECONDS = 30 * 24 * 3600;

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
export function oauthServer(
  issuer: string,
  resource: string | null,
  extra: Partial<OAuthAuthorizationServerOptions<Env>> = {},
): OAuthAuthorizationServer<Env> {
  return new OAuthAuthorizationServer<Env>({
    ...extra,
    issuer,
    resources: [resource ?? `${issuer}/v1/mcp`],
    authorizeEndpoint: AUTHORIZE_PATH,
    tokenEndpoint: TOKEN_PATH,
    clientRegistrationEndpoint: REGISTER_PATH,
    scopesSupported: [...SCOPES_SUPPORTED],
    accessTokenTTL: ACCESS_TOKEN_TTL_SECONDS,
    refreshTokenTTL: REFRESH_TOKEN_TTL_SECONDS,
    tokenExchangeCallback: onTokenIssued,
  });
}

/**
 * Called by the library as it issues tokens: a connection whose OAuth settings leave out
 * `offline_access` gets no refresh tokens (MCP clients seldom ask for the scope, so it is the
 * connection that decides, not the request), and every refresh is on the organization's audit
 * trail.
 */
async function onTokenIssued(
  options: TokenExchangeCallbackOptions<Env>,
): Promise<TokenExchangeCallbackResult | undefined> {
  const props = options.props as Partial<OAuthGrantProps> | null;
  if (options.grantType === 'authorization_code' && props?.orgId && props.connectionId) {
    const row = await options.env.DB.prepare('SELECT settings FROM connections WHERE org_id = ? AND id = ?')
      .bind(props.orgId, props.connectionId)
      .first<{ settings: string }>();
    const settings = readConnectionSettings(parseStoredJson(row?.settings ?? '{}'));
    if (!gatewayOAuthOf(settings).scopes.includes('offline_access')) return { refreshTokenTTL: 0 };
  }
  if (options.grantType === 'refresh_token') {
    if (props?.orgId && props.userId) {
      await auditOAuthQuietly(options.env.DB, {
        action: 'auth.oauth_refresh',
        orgId: props.orgId,
        userId: props.userId,
        details: {
          clientId: options.clientId,
          grantId: options.grantId,
          connectionId: props.connectionId ?? null,
        },
      });
    }
  }
  return undefined;
}
