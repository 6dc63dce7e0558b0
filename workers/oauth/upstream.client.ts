/**
 * The gateway as an OAuth client of a connection's upstream authorization server (upstream mode,
 * docs/oauth.md#upstream-mode), on `oauth4webapi` (panva): discovery (OIDC, then RFC 8414),
 * authorization code with PKCE S256, refresh. Only the standard calls live here; what is stored
 * and when is upstream.tokens.ts.
 *
 * The issuer and the token endpoint the worker fetches follow the SSRF rules of upstream URLs
 * (https on a public host; plain http and private hosts only where ALLOW_PRIVATE_UPSTREAMS is on,
 * i.e. local development and tests).
 *
 * Every answer oauth4webapi reads here comes through a capped fetch (lib/http.bounded.ts): the
 * metadata at most REMOTE_BODY_LIMITS.authServerMetadata, a token answer at most
 * REMOTE_BODY_LIMITS.tokenResponse; over it the call fails with `upstream_too_large` and nothing
 * is stored (a discovery is not cached, a token not kept).
 */
import * as oauth from 'oauth4webapi';
import { checkOutboundUrl } from '../connections/connection.rules';
import { AppError } from '../lib/errors';
import { cappedFetch, REMOTE_BODY_LIMITS } from '../lib/http.bounded';
import type { UpstreamOAuthSettings } from '../shared/oauth.settings';

export interface UpstreamClient {
  as: oauth.AuthorizationServer;
  client: oauth.Client;
  auth: oauth.ClientAuth;
  settings: UpstreamOAuthSettings;
  insecure: boolean;
}

export interface UpstreamTokens {
  accessToken: string;
  refreshToken: string | null;
  /** Epoch ms, or null when the upstream did not say. */
  expiresAt: number | null;
  scope: string | null;
}

type UrlEnv = Pick<Env, 'ALLOW_PRIVATE_UPSTREAMS'>;

function unusable(message: string, internal?: unknown): AppError {
  return new AppError('upstream_unreachable', { message, internal });
}

function requireSafeUrl(env: UrlEnv, url: string, what: string): void {
  const checked = checkOutboundUrl(env, url);
  if (!checked.ok) throw unusable(`The upstream's ${what} is refused (rule: ${checked.rule})`);
}

/** Discovered metadata per issuer, per isolate, for five minutes (it changes rarely). */
const DISCOVERY_TTL_MS = 5 * 60_000;
const discovered = new Map<string, { as: oauth.AuthorizationServer; at: number }>();

const metadataFetch = cappedFetch(REMOTE_BODY_LIMITS.authServerMetadata, 'authorization server metadata');
const tokenFetch = cappedFetch(REMOTE_BODY_LIMITS.tokenResponse, 'token endpoint answer');

async function discover(issuer: URL, insecure: boolean): Promise<oauth.AuthorizationServer> {
  const hit = discovered.get(issuer.href);
  if (hit && Date.now() - hit.at < DISCOVERY_TTL_MS) return hit.as;
  let lastError: unknown;
  // OIDC providers (Google, Entra ID, Okta, Auth0, Keycloak, GitLab) publish openid-configuration;
  // plain OAuth servers (GitHub-style, MCP servers) RFC 8414 metadata.
  for (const algorithm of ['oidc', 'oauth2'] as const) {
    try {
      const response = await oauth.discoveryRequest(issuer, {
        algorithm,
        [oauth.allowInsecureRequests]: insecure,
        [oauth.customFetch]: metadataFetch,
      });
      const as = await oauth.processDiscoveryResponse(issuer, response);
      if (discovered.size > 200) discovered.clear();
      discovered.set(issuer.href, { as, at: Date.now() });
      return as;
    } catch (err) {
      // Over the cap is the answer, not a missing document: the other spelling is not tried.
      if (err instanceof AppError) throw err;
      lastError = err;
    }
  }
  throw unusable("The upstream's authorization server could not be discovered", lastError);
}

/** A provider without discovery (GitHub): the endpoints the connection names. */
function configuredServer(env: UrlEnv, settings: UpstreamOAuthSettings): oauth.AuthorizationServer | null {
  if (!settings.authorizationEndpoint || !settings.tokenEndpoint) return null;
  requireSafeUrl(env, settings.authorizationEndpoint, 'authorization endpoint');
  return {
    issuer: settings.issuer,
    authorization_endpoint: settings.authorizationEndpoint,
    token_endpoint: settings.tokenEndpoint,
  };
}

/** The client for one connection: its settings, and its client secret (the connection's credential). */
export async function upstreamClient(
  env: UrlEnv,
  settings: UpstreamOAuthSettings,
  clientSecret: string | null,
): Promise<UpstreamClient> {
  requireSafeUrl(env, settings.issuer, 'authorization server');
  const insecure = env.ALLOW_PRIVATE_UPSTREAMS === 'true' && settings.issuer.startsWith('http:');
  const as = configuredServer(env, settings) ?? (await discover(new URL(settings.issuer), insecure));
  if (!as.authorization_endpoint || !as.token_endpoint) {
    throw unusable("The upstream's authorization server publishes no authorization or token endpoint");
  }
  requireSafeUrl(env, as.token_endpoint, 'token endpoint');
  return {
    as,
    client: { client_id: settings.clientId },
    auth: clientSecret ? oauth.ClientSecretPost(clientSecret) : oauth.None(),
    settings,
    insecure,
  };
}

export function newPkce(): { verifier: string; challenge: Promise<string> } {
  const verifier = oauth.generateRandomCodeVerifier();
  return { verifier, challenge: oauth.calculatePKCECodeChallenge(verifier) };
}

/** Where the member's browser goes to consent at the upstream (PKCE S256, our state). */
export function authorizationUrl(
  up: UpstreamClient,
  redirectUri: string,
  state: string,
  codeChallenge: string,
): string {
  const url = new URL(up.as.authorization_endpoint!);
  url.searchParams.set('response_type', 'code');
  url.searchParams.set('client_id', up.client.client_id);
  url.searchParams.set('redirect_uri', redirectUri);
  if (up.settings.scopes.length > 0) url.searchParams.set('scope', up.settings.scopes.join(' '));
  url.searchParams.set('state', state);
  url.searchParams.set('code_challenge', codeChallenge);
  url.searchParams.set('code_challenge_method', 'S256');
  if (up.settings.resource) url.searchParams.set('resource', up.settings.resource);
  return url.href;
}

function tokensOf(result: oauth.TokenEndpointResponse, previousRefresh: string | null): UpstreamTokens {
  return {
    accessToken: result.access_token,
    // A refresh response without a new refresh token keeps the old one (RFC 6749 §6).
    refreshToken: result.refresh_token ?? previousRefresh,
    expiresAt: typeof result.expires_in === 'number' ? Date.now() + result.expires_in * 1000 : null,
    scope: result.scope ?? null,
  };
}

function extra(up: UpstreamClient) {
  return {
    [oauth.allowInsecureRequests]: up.insecure,
    [oauth.customFetch]: tokenFetch,
    ...(up.settings.resource ? { additionalParameters: { resource: up.settings.resource } } : {}),
  };
}

/** The callback: checks state and `iss` (oauth4webapi), then redeems the code with the verifier. */
export async function redeemCode(
  up: UpstreamClient,
  callback: URL,
  expectedState: string,
  redirectUri: string,
  verifier: string,
): Promise<UpstreamTokens> {
  const params = oauth.validateAuthResponse(up.as, up.client, callback, expectedState);
  const response = await oauth.authorizationCodeGrantRequest(
    up.as,
    up.client,
    up.auth,
    params,
    redirectUri,
    verifier,
    extra(up),
  );
  return tokensOf(await oauth.processAuthorizationCodeResponse(up.as, up.client, response), null);
}

/** True when the upstream refused the refresh token for good (the member must link again). */
export function isGrantRefusal(err: unknown): boolean {
  return (
    err instanceof oauth.ResponseBodyError &&
    (err.error === 'invalid_grant' || err.error === 'unauthorized_client')
  );
}

export async function refreshTokens(up: UpstreamClient, refreshToken: string): Promise<UpstreamTokens> {
  const response = await oauth.refreshTokenGrantRequest(up.as, up.client, up.auth, refreshToken, extra(up));
  return tokensOf(await oauth.processRefreshTokenResponse(up.as, up.client, response), refreshToken);
}
