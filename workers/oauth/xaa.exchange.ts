/**
 * Cross App Access (experimental, behind CROSS_APP_ACCESS=on; docs/oauth.md#cross-app-access-experimental):
 * an enterprise IdP (Okta, or any IdP implementing the Identity Assertion JWT Authorization Grant
 * draft) gives an app an ID-JAG for one of our connections; the app presents it at `/token` with
 * `grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` (RFC 7523) and gets a gateway access
 * token acting as the member the assertion names.
 *
 * The OAuth library does the JWT work (its "enterprise-managed authorization": `typ`, algorithm,
 * JWKS fetch with a re-fetch on an unknown `kid`, signature, `aud` = our issuer, `client_id` = the
 * authenticated client, resource, expiry, lifetime, one use per `jti`); we decide which
 * organization trusts the issuer for this client and connection, which member the subject is,
 * whether it was revoked, and what lands in the audit trail — including why an assertion was refused.
 */
import type { EmaOptions, OAuthAuthorizationServerOptions } from '@cloudflare/workers-oauth-provider';
import { authAuditStatement } from '../audit/audit.admin';
import { echoId, echoText } from '../lib/echo.safe';
import { log } from '../lib/log';
import { isRecord, parseStoredJson } from '../lib/values';
import { type ConnectionSettings, readConnectionSettings } from '../shared/connection.settings';
import { grantableScopes, oauthClientRefusal } from './oauth.policy';
import { GATEWAY_SCOPE, parseResource } from './oauth.resource';
import { oauthServer } from './oauth.server';
import { issuersNamed, revokedBy } from './xaa.store';

export const JWT_BEARER_GRANT = 'urn:ietf:params:oauth:grant-type:jwt-bearer';

/** What one exchange learned, step by step, for its audit row. Never holds the assertion or a token. */
export interface XaaContext {
  asIssuer: string;
  resource: string | null;
  idp?: string;
  clientId?: string;
  orgId?: string;
  connectionId?: string;
  connectionSlug?: string;
  settings?: ConnectionSettings;
  sub?: string;
  jti?: string;
  userId?: string;
  email?: string;
  /** Why the exchange was refused: our own reason, else the library's (its `internal.reason`). */
  refusal?: string;
}

/** The unverified payload of a compact JWT (only to route: the library verifies it). */
export function unverifiedClaims(assertion: string | null): Record<string, unknown> {
  const payload = assertion?.split('.')[1];
  if (!payload || payload.length > 16_384) return {};
  try {
    const json = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    const parsed = JSON.parse(json);
    return isRecord(parsed) ? parsed : {};
  } catch {
    return {};
  }
}

interface ConnectionRow {
  id: string;
  org_id: string;
  slug: string;
  settings: string;
}

/**
 * The organization an assertion is for: one that trusts its issuer for this client and has the
 * connection the resource names. Two organizations matching is refused (slugs are per organization,
 * and guessing would hand one organization's access to another).
 */
async function resolveIssuer(
  ctx: XaaContext,
  env: Env,
  iss: string,
  clientId: string,
): ReturnType<EmaOptions<Env>['trustedIssuers']> {
  ctx.idp = iss;
  ctx.clientId = clientId;
  const configs = await issuersNamed(env.DB, iss);
  // Where a refusal is audited when only one organization trusts this issuer at all.
  const orgs = new Set(configs.map((c) => c.orgId));
  if (orgs.size === 1) ctx.orgId = [...orgs][0];
  const target = ctx.resource ? parseResource(ctx.asIssuer, ctx.resource) : null;
  const allowed = configs.filter((c) => c.clients.includes(clientId));
  if (!target || allowed.length === 0) {
    ctx.refusal = !target ? 'resource_unknown' : configs.length ? 'client_not_allowed' : 'issuer_not_trusted';
    return null;
  }
  const placeholders = allowed.map(() => '?').join(',');
  const { results } = await env.DB.prepare(
    `SELECT id, org_id, slug, settings FROM connections WHERE slug = ? AND org_id IN (${placeholders})`,
  )
    .bind(target.slug, ...allowed.map((c) => c.orgId))
    .all<ConnectionRow>();
  if (results.length !== 1) {
    ctx.refusal = results.length === 0 ? 'connection_not_found' : 'ambiguous_organization';
    return null;
  }
  const connection = results[0]!;
  const config = allowed.find((c) => c.orgId === connection.org_id)!;
  ctx.orgId = connection.org_id;
  ctx.connectionId = connection.id;
  ctx.connectionSlug = connection.slug;
  ctx.settings = readConnectionSettings(parseStoredJson(connection.settings));
  return { issuer: config.issuer, jwksUri: config.jwksUri, algorithms: config.algorithms };
}

/** The assertion's person as a member of the organization, and what the token may do. */
const mapClaims =
  (ctx: XaaContext): EmaOptions<Env>['mapClaims'] =>
  async ({ claims, clientInfo, requestedScope, env }) => {
    ctx.sub = claims.sub;
    ctx.jti = claims.jti;
    const refuse = (reason: string) => {
      ctx.refusal = reason;
      return null;
    };
    if (!ctx.orgId || !ctx.connectionId || !ctx.settings) return refuse('connection_not_found');
    const revoked = await revokedBy(env.DB, ctx.orgId, {
      issuer: claims.iss,
      jti: claims.jti,
      sub: claims.sub,
    });
    if (revoked) return refuse(revoked === 'jti' ? 'revoked_jti' : 'revoked_subject');
    if (oauthClientRefusal(ctx.settings, clientInfo.clientId))
      return refuse('oauth_not_allowed_on_connection');
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : null;
    if (!email) return refuse('no_email_claim');
    const member = await env.DB.prepare(
      `SELECT u.id AS id FROM users u JOIN members m ON m.user_id = u.id AND m.org_id = ?
       WHERE lower(u.email) = ? LIMIT 1`,
    )
      .bind(ctx.orgId, email)
      .first<{ id: string }>();
    if (!member) return refuse('not_a_member');
    // No refresh tokens here: the IdP decides how long access lasts by issuing new assertions.
    const asked = requestedScope.length > 0 ? requestedScope : [GATEWAY_SCOPE];
    const scope = grantableScopes(ctx.settings, asked).filter((s) => s === GATEWAY_SCOPE);
    if (scope.length === 0) return refuse('scope_not_allowed');
    ctx.userId = member.id;
    ctx.email = email;
    return {
      userId: member.id,
      scope,
      props: { orgId: ctx.orgId, connectionId: ctx.connectionId, userId: member.id },
      metadata: {
        orgId: ctx.orgId,
        connectionId: ctx.connectionId,
        xaa: { issuer: claims.iss, sub: claims.sub, jti: claims.jti },
      },
    };
  };

/** The library options that turn the jwt-bearer grant on for one exchange, reporting into `ctx`. */
export function xaaServerOptions(
  ctx: XaaContext,
): Pick<OAuthAuthorizationServerOptions<Env>, 'enterpriseManagedAuthorization' | 'onError'> {
  return {
    enterpriseManagedAuthorization: {
      trustedIssuers: ({ iss, env, clientInfo }) => resolveIssuer(ctx, env, iss, clientInfo.clientId),
      mapClaims: mapClaims(ctx),
      // An assertion lives five minutes at most (the draft's advice); 60 s of clock skew.
      maxAssertionLifetimeSeconds: 300,
    },
    onError: ({ internal }) => {
      // Ours is more precise when we refused inside a callback (the library then says "mapper_denied").
      ctx.refusal ??= internal.reason;
      return undefined;
    },
  };
}

/** The exchange's audit row, in the organization it was for (none known: the log only). */
export async function auditXaaExchange(db: D1Database, ctx: XaaContext, response: Response): Promise<void> {
  const details = {
    issuer: ctx.idp ?? null,
    clientId: ctx.clientId ?? null,
    connectionId: ctx.connectionId ?? null,
    connectionSlug: ctx.connectionSlug ?? null,
    subject: ctx.sub ?? null,
    jti: ctx.jti ?? null,
  };
  const refused = !response.ok;
  if (!ctx.orgId) {
    // No organization trusts the issuer: all of it is the caller's unverified text, echo-safe.
    log('warn', 'xaa exchange for no known organization', {
      ...details,
      issuer: details.issuer === null ? null : echoText(details.issuer, 200),
      subject: details.subject === null ? null : echoId(details.subject),
      jti: details.jti === null ? null : echoId(details.jti),
      refused,
      reason: ctx.refusal,
    });
    return;
  }
  try {
    await authAuditStatement(db, {
      action: refused ? 'auth.xaa_refused' : 'auth.xaa_exchange',
      orgId: ctx.orgId,
      userId: ctx.userId ?? null,
      email: ctx.email ?? null,
      details: refused ? { ...details, reason: ctx.refusal ?? `http_${response.status}` } : details,
    }).run();
  } catch (err) {
    log('error', 'xaa audit row not written', { err });
  }
}

/**
 * `/token` with the jwt-bearer grant: a server for the resource the request names (the `resource`
 * parameter, else the assertion's own `resource` claim — read unverified only to pick the server;
 * the library checks it against the verified claims), with this exchange's callbacks; then its
 * audit row.
 */
export async function exchangeIdJag(
  env: Env,
  asIssuer: string,
  form: URLSearchParams,
  run: (server: ReturnType<typeof oauthServer>) => Promise<Response>,
): Promise<Response> {
  const claims = unverifiedClaims(form.get('assertion'));
  const text = (v: unknown) => (typeof v === 'string' ? v.slice(0, 256) : undefined);
  const named = form.get('resource') ?? text(claims.resource) ?? null;
  const resource = named && parseResource(asIssuer, named) ? named : null;
  // Subject and jti as claimed, so a refused assertion's row names them too (verified ones replace
  // them once the library has checked the signature: mapClaims).
  const ctx: XaaContext = { asIssuer, resource, sub: text(claims.sub), jti: text(claims.jti) };
  const response = await run(oauthServer(asIssuer, resource, xaaServerOptions(ctx)));
  await auditXaaExchange(env.DB, ctx, response);
  return response;
}
