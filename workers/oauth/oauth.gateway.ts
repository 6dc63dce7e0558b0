/**
 * The gateway's OAuth path: an access token issued by our authorization server (oauth.server.ts)
 * stands where an `ig_` key does. It resolves to the same Principal shape — the member who
 * consented, with their *current* role in the organization they chose — so connections:use, kill
 * switches on the person and leaving the organization apply exactly as they do to that member's
 * keys. The token's audience must be the connection the request is addressed to.
 */

import { z } from 'zod';
import type { Principal } from '../app.types';
import { unauthorized } from '../auth/api-key.auth';
import { mayUseConnection } from '../auth/permissions';
import { learnEpoch } from '../config/config.epoch';
import type { Role } from '../db/schema';
import { authenticateAndResolve, type HashedKey, hashedKey } from '../gateway/gateway.callers';
import {
  type CallerAndConnection,
  CONNECTION_COLUMNS,
  type JoinedConnectionColumns,
  joinedConnection,
} from '../gateway/gateway.connection';
import { AppError } from '../lib/errors';
import { userKilledSql } from '../shared/killswitch.store';
import {
  type CachedOAuthCaller,
  cachedOAuthCaller,
  oauthCacheEnabled,
  oauthCacheKey,
  rememberOAuthCaller,
} from './oauth.cache';
import { oauthTokenRefusal } from './oauth.policy';
import {
  GATEWAY_SCOPE,
  issuerOf,
  looksLikeOAuthToken,
  type ResourceKind,
  resourceMetadataUrl,
  resourceOf,
} from './oauth.resource';
import { oauthServer } from './oauth.server';

const propsSchema = z.object({ orgId: z.string(), connectionId: z.string(), userId: z.string() });

/** The 401 challenge of a connection's route: where its RFC 9728 metadata is, and the scope to ask for. */
export function oauthChallenge(
  issuer: string,
  kind: ResourceKind,
  slug: string,
  error?: 'invalid_token',
): string {
  const parts = [
    'Bearer realm="igris"',
    ...(error ? [`error="${error}"`] : []),
    `resource_metadata="${resourceMetadataUrl(issuer, kind, slug)}"`,
    `scope="${GATEWAY_SCOPE}"`,
  ];
  return parts.join(', ');
}

function tokenRefused(message: string, challenge: string): AppError {
  const err = unauthorized(message);
  err.headers['WWW-Authenticate'] = challenge;
  return err;
}

type MemberRow = JoinedConnectionColumns & {
  role: Role | null;
  email: string | null;
  killed: number;
  org_epoch: number | null;
};

// One D1 round trip: the member's current role and email, the connection by slug in the token's
// organization, whether a `user` kill switch names the member (by id or email), and the
// organization's configuration epoch in the same snapshot (what a cached caller is tagged with).
const MEMBER_AND_CONNECTION_SQL = `SELECT m.role AS role, u.email AS email, ${CONNECTION_COLUMNS},
  ${userKilledSql('?1', '?2', 'u.email')} AS killed,
  (SELECT o.config_epoch FROM organizations o WHERE o.id = ?1) AS org_epoch
  FROM users u LEFT JOIN members m ON m.org_id = ?1 AND m.user_id = u.id
  LEFT JOIN connections c ON c.org_id = ?1 AND c.slug = ?3
  WHERE u.id = ?2`;

export interface OAuthCaller extends CallerAndConnection {
  /** The configuration epoch this call's data was read at (D1's, at the cache fill). */
  configEpoch: number;
  /** The consenting member's email: the call's user in audit rows, events and `user` kill switches. */
  email: string;
}

/**
 * Validates the token for this route's resource and resolves the caller and connection. Every
 * failure is a 401 naming the resource metadata, so a client re-runs the flow; the message says why.
 *
 * In the steady state this is memory only (oauth.cache.ts): a caller that passed every check is
 * kept, keyed by a hash of the token, until its organization's configuration epoch moves, the
 * cache's age bound passes or the token expires.
 */
export async function authenticateOAuthAndResolve(
  env: Env,
  requestUrl: string,
  token: string,
  slug: string,
  kind: ResourceKind,
): Promise<OAuthCaller> {
  const issuer = issuerOf(env, requestUrl);
  const resource = resourceOf(issuer, kind, slug);
  const cacheKey = oauthCacheEnabled(env) ? await oauthCacheKey(token, resource) : null;
  const hit = cacheKey ? cachedOAuthCaller(env, cacheKey) : null;
  if (hit) return asOAuthCaller(hit.caller, hit.epoch);

  const challenge = oauthChallenge(issuer, kind, slug, 'invalid_token');
  const server = oauthServer(issuer, resource);
  const validated = await server.validateToken(resource, token, env);
  if (!validated) {
    throw tokenRefused(
      'OAuth access token invalid, expired, revoked, or issued for another connection',
      challenge,
    );
  }
  if (!validated.scope.includes(GATEWAY_SCOPE)) {
    throw new AppError('forbidden', {
      message: `The OAuth access token lacks the "${GATEWAY_SCOPE}" scope`,
      headers: {
        'WWW-Authenticate': `Bearer realm="igris", error="insufficient_scope", scope="${GATEWAY_SCOPE}", resource_metadata="${resourceMetadataUrl(issuer, kind, slug)}"`,
      },
    });
  }
  // The library's decrypted grant props: read once per cache fill, not per call.
  const props = propsSchema.safeParse(validated.props);
  if (!props.success) throw tokenRefused('OAuth access token invalid', challenge);
  const { orgId, connectionId, userId } = props.data;

  const row = await env.DB.prepare(MEMBER_AND_CONNECTION_SQL).bind(orgId, userId, slug).first<MemberRow>();
  const epoch = row?.org_epoch ?? 0;
  if (row) learnEpoch(orgId, epoch);
  if (!row?.role || !row.email) {
    throw tokenRefused(
      'OAuth access token no longer valid: the member who consented left the organization',
      challenge,
    );
  }
  const connection = joinedConnection(row);
  // Same slug, another connection (deleted and re-created): the consent was for the old one.
  if (!connection || connection.id !== connectionId) {
    throw tokenRefused(
      'OAuth access token invalid, expired, revoked, or issued for another connection',
      challenge,
    );
  }
  // The connection's OAuth settings as they are now (turned off, client approval withdrawn).
  const settingsRefusal = oauthTokenRefusal(connection.settings, validated);
  if (settingsRefusal) throw new AppError('forbidden', { message: settingsRefusal });
  const principal: Principal = {
    kind: 'oauth',
    orgId,
    role: row.role,
    userId,
    apiKeyId: null,
    sessionId: null,
    actor: `user:${userId}`,
  };
  if (row.killed) {
    throw new AppError('principal_killed', { details: { scope: 'user' } });
  }
  const caller: CachedOAuthCaller = { principal, connection, email: row.email };
  // A caller the call will refuse anyway (disabled connection, no connections:use) is not kept:
  // refusals are answered before the guard, so a kept one would not learn of a change that
  // lifts it (re-enabled, promoted) nor show the right refusal for a later one (removed: 401).
  const access = { createdBy: connection.createdBy, sharedWith: connection.settings.sharedWith };
  if (cacheKey && connection.enabled && mayUseConnection(principal, access)) {
    // Confirmed live again *after* the epoch was read: a revocation that committed in between
    // (token deleted, then epoch bumped) is seen here, so no entry holds a revoked token under an
    // epoch that would look current. One more KV read, per cache fill only.
    if (!(await server.validateToken(resource, token, env))) {
      throw tokenRefused(
        'OAuth access token invalid, expired, revoked, or issued for another connection',
        challenge,
      );
    }
    rememberOAuthCaller(cacheKey, caller, epoch, validated.expiresAt);
  }
  return asOAuthCaller(caller, epoch);
}

function asOAuthCaller(caller: CachedOAuthCaller, configEpoch: number): OAuthCaller {
  return {
    // A copy: the principal travels through the call and must not be shared between calls.
    auth: { principal: { ...caller.principal }, touch: null },
    connection: caller.connection,
    email: caller.email,
    configEpoch,
  };
}

function resourceKindOf(protocol: string): ResourceKind | null {
  return protocol === 'mcp' || protocol === 'llm' || protocol === 'a2a' ? protocol : null;
}

/**
 * Step 1 of a gateway call for either credential: an `ig_` key exactly as before, or (MCP and LLM
 * routes) an OAuth access token. `email` is set for OAuth callers only; `key` for `ig_` keys: the
 * key with its hash, so a call hashes its key once (`known`: the key already hashed in this call).
 */
export async function authenticateGatewayCaller(
  env: Env,
  requestUrl: string,
  protocol: string,
  credential: string,
  slug: string,
  known?: HashedKey | null,
): Promise<CallerAndConnection & { email?: string; configEpoch: number; key?: HashedKey }> {
  const kind = resourceKindOf(protocol);
  if (kind && looksLikeOAuthToken(credential)) {
    return authenticateOAuthAndResolve(env, requestUrl, credential, slug, kind);
  }
  const key = await hashedKey(credential, known);
  return { ...(await authenticateAndResolve(env, key, slug)), key };
}

/**
 * A 401 from an MCP or LLM connection's route names the route's protected-resource metadata
 * (RFC 9728 §5.1), so an MCP client discovers the authorization server by itself. The message
 * still says what was wrong with the credential that was sent.
 */
export function withOAuthChallenge(
  err: AppError,
  env: Env,
  requestUrl: string,
  protocol: string,
  slug: string,
): AppError {
  const kind = resourceKindOf(protocol);
  if (err.code !== 'unauthorized' || !kind || !slug) return err;
  if (/resource_metadata=/.test(err.headers['WWW-Authenticate'] ?? '')) return err;
  err.headers['WWW-Authenticate'] = oauthChallenge(issuerOf(env, requestUrl), kind, slug);
  return err;
}
