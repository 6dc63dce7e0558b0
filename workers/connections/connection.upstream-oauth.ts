/**
 * Where a connection's stored credential goes, and what moving it there means, for connections in
 * upstream OAuth mode (docs/oauth.md#upstream-mode). There the credential is the gateway's client
 * secret, sent to the provider's token endpoint — the one the connection names, else the one its
 * issuer's metadata publishes — and each linked member's refresh token goes there too. So changing
 * `settings.upstreamOAuth` (or turning the mode on or off) can send both to another host, which
 * whoever may change the settings chooses but could never read the secrets of.
 */
import type { Principal } from '../app.types';
import type { ConnectionSettings } from '../shared/connection.settings';
import { sameOrigin, secretFollowsOrigin } from './connection.secrets';

/** Where the credential is sent: the token endpoint's (or issuer's) URL, else the upstream itself. */
export function credentialDestination(upstreamUrl: string, settings: ConnectionSettings): string {
  const oauth = settings.upstreamOAuth;
  if (!oauth) return upstreamUrl;
  return oauth.tokenEndpoint ?? oauth.issuer;
}

/**
 * Refuses a change that would send the stored credential to another origin through the upstream
 * OAuth settings without the credential for it in the same request (an owner may say
 * `keepCredential: true`, as for an upstreamUrl move). Returns whether the provider's origin
 * changed: the members' upstream tokens were issued by the old one and are then forgotten, so no
 * refresh token of theirs is ever sent to the new one.
 */
export function checkUpstreamOAuthMove(change: {
  principal: Principal;
  before: { upstreamUrl: string; settings: ConnectionSettings };
  after: { upstreamUrl: string; settings: ConnectionSettings };
  /** A credential is stored and this request neither replaces nor drops it. */
  keepsCredential: boolean;
  keepCredential: boolean | undefined;
}): boolean {
  const { before, after } = change;
  if (!before.settings.upstreamOAuth && !after.settings.upstreamOAuth) return false;
  const from = credentialDestination(before.upstreamUrl, before.settings);
  const to = credentialDestination(after.upstreamUrl, after.settings);
  const ownerKeeps = change.keepCredential === true && change.principal.role === 'owner';
  const refusal = secretFollowsOrigin({
    from,
    to,
    keepsSecret: change.keepsCredential && !ownerKeeps,
    urlPath: 'settings.upstreamOAuth',
    secretPath: 'credential',
  });
  if (refusal) throw refusal;
  const oldProvider = before.settings.upstreamOAuth;
  const newProvider = after.settings.upstreamOAuth;
  if (!oldProvider) return false;
  return !newProvider || !sameOrigin(from, to);
}

/** Forgets every member's upstream tokens of one connection. */
export function dropUpstreamTokens(db: D1Database, orgId: string, connectionId: string): D1PreparedStatement {
  return db
    .prepare('DELETE FROM upstream_oauth_tokens WHERE org_id = ? AND connection_id = ?')
    .bind(orgId, connectionId);
}
