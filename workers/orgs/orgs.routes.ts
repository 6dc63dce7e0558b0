import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { adminAuditStatement } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { reencryptCredentials } from '../vault/vault.reencrypt';
import {
  memberIdParamSchema,
  memberSchema,
  organizationSchema,
  updateMemberSchema,
  updateOrganizationSchema,
} from './orgs.schemas';
import {
  getCurrentOrganization,
  listMembers,
  removeMember,
  updateCurrentOrganization,
  updateMemberRole,
} from './orgs.service';

export const orgsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/organizations/current',
      tags: ['Organizations'],
      summary: "The caller's organization, with the caller's role in it",
      responses: { 200: json(organizationSchema, 'The organization'), ...errorResponses },
    }),
    async (c) => c.json(await getCurrentOrganization(c.env, c.get('principal')), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/organizations/current',
      tags: ['Organizations'],
      summary: 'Rename the organization or change its settings (retention, default fail mode)',
      request: jsonBody(updateOrganizationSchema),
      responses: { 200: json(organizationSchema, 'Updated'), ...errorResponses },
    }),
    async (c) => c.json(await updateCurrentOrganization(c.env, c.get('principal'), c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/members',
      tags: ['Members'],
      summary: 'Members of the organization',
      responses: {
        200: json(z.object({ members: z.array(memberSchema) }), 'Members, oldest first'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ members: await listMembers(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/members/{id}',
      tags: ['Members'],
      summary:
        "Change a member's role (only an owner grants or changes the owner role; one owner always remains)",
      request: { params: memberIdParamSchema, ...jsonBody(updateMemberSchema) },
      responses: { 200: json(memberSchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updateMemberRole(c.env, c.get('principal'), c.req.valid('param').id, c.req.valid('json').role),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/members/{id}',
      tags: ['Members'],
      summary: 'Remove a member: their API keys stop working at once (the last owner cannot be removed)',
      request: { params: memberIdParamSchema },
      responses: {
        200: json(
          z.object({ deleted: z.literal(true), member: memberSchema, revokedKeys: z.number().int() }),
          'Removed',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { member, revokedKeys } = await removeMember(c.env, c.get('principal'), c.req.valid('param').id);
      return c.json({ deleted: true as const, member, revokedKeys }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/organizations/current/reencrypt-credentials',
      tags: ['Organizations'],
      summary:
        "Re-encrypt this organization's stored credentials under the current ENCRYPTION_KEY (master-key rotation; the daily cron does it too)",
      responses: {
        200: json(
          z.object({ checked: z.number().int(), reencrypted: z.number().int(), failed: z.number().int() }),
          'Result',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      requirePermission(principal, 'org:write');
      // The record is written in the re-encryption's own batch (vault.reencrypt.ts).
      const result = await reencryptCredentials(c.env, principal.orgId, (counts) =>
        adminAuditStatement(c.env.DB, principal, { action: 'credentials.reencrypt', details: { ...counts } }),
      );
      return c.json(result, 200);
    },
  );
