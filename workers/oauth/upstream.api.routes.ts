/**
 * `/api/v1/connections/{slug}/upstream-oauth`: the caller's own link to a connection's upstream
 * account in OAuth upstream mode (docs/oauth.md#upstream-mode) — whether it exists, where to make
 * it, and unlinking it. It is about the calling member only; tokens are never returned.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import type { Principal } from '../app.types';
import { mayUseConnection } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { iso, parseStoredJson } from '../lib/values';
import { readConnectionSettings } from '../shared/connection.settings';
import { oauthAuditIf } from './oauth.audit';
import { issuerOf } from './oauth.resource';
import { connectUrl, deleteTokens, linkStatus } from './upstream.tokens';

const tags = ['OAuth'];

const linkSchema = z
  .object({
    connection: z.string(),
    linked: z.boolean(),
    connectUrl: z.string().openapi({ description: 'Open in a browser signed in to the dashboard to link' }),
    expiresAt: z.string().nullable(),
    scope: z.string().nullable(),
    linkedAt: z.string().nullable(),
  })
  .openapi('UpstreamOAuthLink');

async function upstreamModeConnection(db: D1Database, principal: Principal, slug: string) {
  const row = await db
    .prepare('SELECT id, slug, created_by, settings FROM connections WHERE org_id = ? AND slug = ?')
    .bind(principal.orgId, slug)
    .first<{ id: string; slug: string; created_by: string | null; settings: string }>();
  const settings = row ? readConnectionSettings(parseStoredJson(row.settings)) : null;
  if (!row || !settings) {
    throw new AppError('not_found', {
      message: 'Connection not found',
      details: { location: 'path', path: 'slug' },
    });
  }
  if (!mayUseConnection(principal, { createdBy: row.created_by, sharedWith: settings.sharedWith })) {
    throw new AppError('connection_forbidden', { details: { location: 'path', path: 'slug' } });
  }
  if (!settings.upstreamOAuth || !principal.userId) {
    throw new AppError('not_found', {
      message: 'This connection does not use per-person upstream OAuth',
      details: { location: 'path', path: 'slug' },
    });
  }
  return { id: row.id, slug: row.slug, userId: principal.userId };
}

export const upstreamOAuthApiRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/upstream-oauth',
      tags,
      summary:
        'Whether the caller linked their own upstream account for this connection, and where to link it',
      request: { params: pathParamSchema('slug') },
      responses: { 200: json(linkSchema, 'The link'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const conn = await upstreamModeConnection(c.env.DB, principal, c.req.valid('param').slug);
      const status = await linkStatus(c.env.DB, principal.orgId, conn.id, conn.userId);
      return c.json(
        {
          connection: conn.slug,
          linked: status !== null,
          connectUrl: connectUrl(issuerOf(c.env, c.req.url), conn.id),
          expiresAt: iso(status?.expiresAt ?? null),
          scope: status?.scope ?? null,
          linkedAt: iso(status?.updatedAt ?? null),
        },
        200,
      );
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{slug}/upstream-oauth',
      tags,
      summary: "Unlink the caller's upstream account from this connection (its stored tokens are deleted)",
      request: { params: pathParamSchema('slug') },
      responses: { 200: json(z.object({ unlinked: z.boolean() }), 'Unlinked'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const conn = await upstreamModeConnection(c.env.DB, principal, c.req.valid('param').slug);
      const record = await oauthAuditIf(c.env.DB, {
        action: 'auth.oauth_upstream_unlink',
        orgId: principal.orgId,
        userId: conn.userId,
        details: { connectionId: conn.id, connectionSlug: conn.slug },
      });
      // The row only if there was a link to delete, in the same batch as the delete.
      const unlinked = await deleteTokens(c.env.DB, principal.orgId, conn.id, conn.userId, record);
      return c.json({ unlinked }, 200);
    },
  );
