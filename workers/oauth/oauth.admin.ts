/**
 * Owners and admins see and revoke what their organization's members granted to OAuth clients
 * (issue 18, hybrid mode). The library keeps grants per person in OAUTH_KV (`grant:<userId>:…`),
 * each with the organization and connection the person chose as its metadata, so the
 * organization's grants are its members' grants filtered by that metadata: one KV list per member
 * (an organization of a few hundred people stays well inside a request's subrequest budget).
 *
 * Clients are registered anonymously and shared by every organization (DCR), so "revoking a
 * client" here revokes its grants in this organization only; keeping it out for good is the
 * connection's `oauth.registration: "approved"` setting. Every revocation is an audit row.
 */
import type { ClientInfo, GrantSummary, OAuthHelpers } from '@cloudflare/workers-oauth-provider';
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { oauthServer } from './oauth.server';

export interface OrgGrant {
  id: string;
  clientId: string;
  clientName: string | null;
  userId: string;
  email: string | null;
  connectionId: string | null;
  connectionSlug: string | null;
  scope: string[];
  createdAt: string | null;
  expiresAt: string | null;
}

export interface OrgClient {
  clientId: string;
  clientName: string | null;
  redirectUris: string[];
  registeredAt: string | null;
  /** Active grants in this organization. */
  grants: number;
  /** Slugs of this organization's connections that list the client as approved. */
  approvedFor: string[];
}

/**
 * The library's storage helpers (listing, lookup, revocation) do not depend on the issuer, but
 * its constructor insists on an https one; the management API may be reached over plain http
 * locally, so an https issuer is used when the request's is not.
 */
export function helpers(env: Env, issuer: string): OAuthHelpers {
  const usable = issuer.startsWith('https://') ? issuer : 'https://igris.invalid';
  return oauthServer(usable, null).getOAuthApi(env);
}

interface OrgContext {
  members: Array<{ user_id: string; email: string }>;
  connections: Array<{ id: string; slug: string; settings: string }>;
}

async function orgContext(db: D1Database, orgId: string): Promise<OrgContext> {
  const [members, connections] = await db.batch([
    db
      .prepare('SELECT m.user_id, u.email FROM members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ?')
      .bind(orgId),
    db.prepare('SELECT id, slug, settings FROM connections WHERE org_id = ?').bind(orgId),
  ]);
  return {
    members: (members?.results ?? []) as OrgContext['members'],
    connections: (connections?.results ?? []) as OrgContext['connections'],
  };
}

export async function grantsOf(oauth: OAuthHelpers, userId: string, orgId: string): Promise<GrantSummary[]> {
  const out: GrantSummary[] = [];
  let cursor: string | undefined;
  do {
    const page = await oauth.listUserGrants(userId, { limit: 1000, ...(cursor ? { cursor } : {}) });
    out.push(...page.items.filter((g) => g.metadata?.orgId === orgId));
    cursor = page.cursor;
  } while (cursor);
  return out;
}

async function clientsById(oauth: OAuthHelpers, ids: Iterable<string>): Promise<Map<string, ClientInfo>> {
  const unique = [...new Set(ids)];
  const found = await Promise.all(unique.map((id) => oauth.lookupClient(id).catch(() => null)));
  return new Map(found.flatMap((client) => (client ? [[client.clientId, client] as const] : [])));
}

const seconds = (s: number | undefined) => (s === undefined ? null : iso(s * 1000));

/** Every active grant in the principal's organization, newest first. Owner/admin. */
export async function listOrgGrants(env: Env, principal: Principal, issuer: string): Promise<OrgGrant[]> {
  requirePermission(principal, 'org:write');
  const oauth = helpers(env, issuer);
  const ctx = await orgContext(env.DB, principal.orgId);
  const slugs = new Map(ctx.connections.map((c) => [c.id, c.slug]));
  const perMember = await Promise.all(
    ctx.members.map(async (m) =>
      (await grantsOf(oauth, m.user_id, principal.orgId)).map((g) => ({ g, email: m.email })),
    ),
  );
  const flat = perMember.flat();
  const clients = await clientsById(
    oauth,
    flat.map(({ g }) => g.clientId),
  );
  return flat
    .map(({ g, email }) => {
      const connectionId = typeof g.metadata?.connectionId === 'string' ? g.metadata.connectionId : null;
      return {
        id: g.id,
        clientId: g.clientId,
        clientName: clients.get(g.clientId)?.clientName ?? null,
        userId: g.userId,
        email,
        connectionId,
        connectionSlug: connectionId ? (slugs.get(connectionId) ?? null) : null,
        scope: g.scope,
        createdAt: seconds(g.createdAt),
        expiresAt: seconds(g.expiresAt),
      };
    })
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? ''));
}

/** Clients with grants in the organization or approved on one of its connections. Owner/admin. */
export async function listOrgClients(env: Env, principal: Principal, issuer: string): Promise<OrgClient[]> {
  const grants = await listOrgGrants(env, principal, issuer);
  const ctx = await orgContext(env.DB, principal.orgId);
  const approvedFor = new Map<string, string[]>();
  for (const connection of ctx.connections) {
    const oauth = readConnectionSettings(parseStoredJson(connection.settings)).oauth;
    for (const id of oauth?.approvedClients ?? []) {
      approvedFor.set(id, [...(approvedFor.get(id) ?? []), connection.slug]);
    }
  }
  const ids = new Set([...grants.map((g) => g.clientId), ...approvedFor.keys()]);
  const clients = await clientsById(helpers(env, issuer), ids);
  return [...ids].map((clientId) => {
    const info = clients.get(clientId);
    return {
      clientId,
      clientName: info?.clientName ?? null,
      redirectUris: info?.redirectUris ?? [],
      registeredAt: seconds(info?.registrationDate),
      grants: grants.filter((g) => g.clientId === clientId).length,
      approvedFor: approvedFor.get(clientId) ?? [],
    };
  });
}

/**
 * The grants live in the OAuth store (KV), which no D1 transaction spans: their audit rows are
 * written FIRST, then the grants revoked. A failed audit write revokes nothing and the call answers
 * an error. The other order lost the record for good: grants revoked, the write failed, and a
 * repeat answered 404 (the grant was gone) without writing it. Should a revocation fail after the
 * rows are written, the call answers an error (never 2xx) and a repeat, finding the grant still
 * live, revokes it with a row of its own.
 */
async function revokeAndAudit(env: Env, principal: Principal, issuer: string, grants: OrgGrant[]) {
  const oauth = helpers(env, issuer);
  await env.DB.batch(
    grants.map((grant) =>
      adminAuditStatement(env.DB, principal, {
        action: 'auth.oauth_revoke',
        type: 'auth',
        connectionId: grant.connectionId,
        connectionSlug: grant.connectionSlug,
        details: {
          by: 'admin',
          grantId: grant.id,
          clientId: grant.clientId,
          userId: grant.userId,
          user: grant.email,
        },
      }),
    ),
  );
  for (const grant of grants) await oauth.revokeGrant(grant.id, grant.userId);
}

/** Revokes one grant of the organization (its tokens stop at once). 404 for any other grant. */
export async function revokeOrgGrant(
  env: Env,
  principal: Principal,
  issuer: string,
  grantId: string,
): Promise<OrgGrant> {
  const grant = (await listOrgGrants(env, principal, issuer)).find((g) => g.id === grantId);
  if (!grant)
    throw new AppError('not_found', {
      message: 'Grant not found',
      details: { location: 'path', path: 'grantId' },
    });
  await revokeAndAudit(env, principal, issuer, [grant]);
  return grant;
}

/** Revokes every grant this client holds in the organization. 404 when it holds none. */
export async function revokeOrgClient(
  env: Env,
  principal: Principal,
  issuer: string,
  clientId: string,
): Promise<{ clientId: string; revokedGrants: number }> {
  const grants = (await listOrgGrants(env, principal, issuer)).filter((g) => g.clientId === clientId);
  if (grants.length === 0) {
    throw new AppError('not_found', {
      message: 'No grants of this client in the organization',
      details: { location: 'path', path: 'clientId' },
    });
  }
  await revokeAndAudit(env, principal, issuer, grants);
  return { clientId, revokedGrants: grants.length };
}
