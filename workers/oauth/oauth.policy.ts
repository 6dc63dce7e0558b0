/**
 * The per-connection OAuth settings (workers/shared/oauth.settings.ts) as decisions: which
 * connections a client may be offered at consent, which scopes a person may grant, and whether a
 * token still may be used on its connection (settings change after consent: turning OAuth off or
 * withdrawing a client's approval takes effect on the next call). Pure: no I/O.
 */
import type { ConnectionSettings } from '../shared/connection.settings';
import { DEFAULT_GATEWAY_OAUTH, type GatewayOAuthSettings } from '../shared/oauth.settings';

export function gatewayOAuthOf(settings: Pick<ConnectionSettings, 'oauth'>): GatewayOAuthSettings {
  return settings.oauth ?? DEFAULT_GATEWAY_OAUTH;
}

/** May this client obtain (or use) a token for the connection? null = yes, else the reason. */
export function oauthClientRefusal(
  settings: Pick<ConnectionSettings, 'oauth'>,
  clientId: string,
): string | null {
  const oauth = gatewayOAuthOf(settings);
  if (!oauth.enabled) return 'OAuth is turned off for this connection: use an ig_ API key';
  if (oauth.registration === 'approved' && !oauth.approvedClients.includes(clientId)) {
    return 'This app is not approved for this connection: an admin of the organization must approve it';
  }
  return null;
}

/** The scopes of a consent that this connection lets a person grant. */
export function grantableScopes(settings: Pick<ConnectionSettings, 'oauth'>, requested: string[]): string[] {
  const allowed: readonly string[] = gatewayOAuthOf(settings).scopes;
  return requested.filter((scope) => allowed.includes(scope));
}

/** What a token may still do on its connection: the client check, and scopes the connection still allows. */
export function oauthTokenRefusal(
  settings: Pick<ConnectionSettings, 'oauth'>,
  token: { clientId: string; scope: string[] },
): string | null {
  const refusal = oauthClientRefusal(settings, token.clientId);
  if (refusal) return refusal;
  // A scope withdrawn after consent no longer counts, so calls stop with it.
  if (!grantableScopes(settings, token.scope).includes('gateway:call')) {
    return 'The "gateway:call" scope is no longer allowed on this connection';
  }
  return null;
}
