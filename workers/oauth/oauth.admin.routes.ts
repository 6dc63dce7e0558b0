/**
 * `/api/v1/oauth/*`: the organization's OAuth grants and clients, for owners and admins
 * (oauth.admin.ts). Revoking stops the grant's tokens at once and is audited.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { listOrgClients, listOrgGrants, revokeOrgClient, revokeOrgGrant } from './oauth.admin';
import { issuerOf } from './oauth.resource';

const tags = ['OAuth'];

const grantSchema = z
  .object({
    id: z.string(),
    clientId: z.string(),
    clientName: z.string().nullable(),
    userId: z.string(),
    email: z.string().nullable(),
    connectionId: z.string().nullable(),
    connectionSlug: z.string().nullable(),
    scope: z.array(z.string()),
    createdAt: z.string().nullable(),
    expiresAt: z.string().nullable(),
  })
  .openapi('OAuthGrant');

const clientSchema = z
  .object({
    clientId: z.string(),
    clientName: z.string().nullable(),
    redirectUris: z.array(z.string()),
    registeredAt: z.string().nullable(),
    grants: z.number().int(),
    approvedFor: z.array(z.string()),
  })
  .openapi('OAuthClient');

export const oauthAdminRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/oauth/grants',
      tags,
      summary:
        "The organization's active OAuth grants (who let which app call which connection); owner/admin",
      responses: { 200: json(z.object({ grants: z.array(grantSchema) }), 'Grants'), ...errorResponses },
    }),
    async (c) =>
      c.json({ grants: await listOrgGrants(c.env, c.get('principal'), issuerOf(c.env, c.req.url)) }, 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/oauth/grants/{grantId}',
      tags,
      summary: 'Revoke a grant: its access and refresh tokens stop working at once (audited)',
      request: { params: pathParamSchema('grantId', undefined, 128) },
      responses: { 200: json(grantSchema, 'Revoked'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await revokeOrgGrant(
          c.env,
          c.get('principal'),
          issuerOf(c.env, c.req.url),
          c.req.valid('param').grantId,
        ),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/oauth/clients',
      tags,
      summary:
        'OAuth clients with grants in the organization or approved on one of its connections; owner/admin',
      responses: { 200: json(z.object({ clients: z.array(clientSchema) }), 'Clients'), ...errorResponses },
    }),
    async (c) =>
      c.json({ clients: await listOrgClients(c.env, c.get('principal'), issuerOf(c.env, c.req.url)) }, 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/oauth/clients/{clientId}',
      tags,
      summary:
        'Revoke every grant a client holds in the organization (audited); the registration itself is shared',
      request: { params: pathParamSchema('clientId', undefined, 256) },
      responses: {
        200: json(z.object({ clientId: z.string(), revokedGrants: z.number().int() }), 'Revoked'),
        ...errorResponses,
      },
    }),
    async (c) =>
      c.json(
        await revokeOrgClient(
          c.env,
          c.get('principal'),
          issuerOf(c.env, c.req.url),
          c.req.valid('param').clientId,
        ),
        200,
      ),
  );
