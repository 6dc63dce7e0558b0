/**
 * OAuth / OIDC providers for people sign-in. Client ids and secrets are secrets
 * (GITHUB_CLIENT_ID/SECRET, GOOGLE_CLIENT_ID/SECRET); a provider without a client id is off.
 * Endpoint URLs are vars (wrangler.toml) so tests point them at a local fake provider and GitHub
 * Enterprise users at their own host.
 */
import { z } from '@hono/zod-openapi';
import { OAUTH_PROVIDERS } from '../db/schema';

export type OAuthProvider = (typeof OAUTH_PROVIDERS)[number];
export const providerSchema = z.enum(OAUTH_PROVIDERS);

export interface ProviderConfig {
  id: OAuthProvider;
  clientId: string;
  clientSecret: string;
  authorizeUrl: string;
  tokenUrl: string;
  scope: string;
  /** GitHub: REST API base (user + emails). */
  apiUrl?: string;
  /** Google: where the id_token signing keys are, and who must have issued it. */
  jwksUrl?: string;
  issuer?: string;
}

/** The provider's configuration, or null when it is not configured (no client id or secret). */
export function providerConfig(env: Env, provider: OAuthProvider): ProviderConfig | null {
  if (provider === 'github') {
    if (!env.GITHUB_CLIENT_ID || !env.GITHUB_CLIENT_SECRET) return null;
    return {
      id: 'github',
      clientId: env.GITHUB_CLIENT_ID,
      clientSecret: env.GITHUB_CLIENT_SECRET,
      authorizeUrl: env.GITHUB_AUTHORIZE_URL,
      tokenUrl: env.GITHUB_TOKEN_URL,
      apiUrl: env.GITHUB_API_URL.replace(/\/+$/, ''),
      scope: 'read:user user:email',
    };
  }
  if (!env.GOOGLE_CLIENT_ID || !env.GOOGLE_CLIENT_SECRET) return null;
  return {
    id: 'google',
    clientId: env.GOOGLE_CLIENT_ID,
    clientSecret: env.GOOGLE_CLIENT_SECRET,
    authorizeUrl: env.GOOGLE_AUTHORIZE_URL,
    tokenUrl: env.GOOGLE_TOKEN_URL,
    jwksUrl: env.GOOGLE_JWKS_URL,
    issuer: env.GOOGLE_ISSUER,
    scope: 'openid email profile',
  };
}

export function configuredProviders(env: Env): OAuthProvider[] {
  return OAUTH_PROVIDERS.filter((p) => providerConfig(env, p) !== null);
}
