/**
 * `/api/auth/organizations*` and `/api/auth/invitations*`: a signed-in person's organizations
 * (list, create, switch, leave, remove a member) and invitations. Mounted by auth.routes.ts, which
 * caps bodies and bootstraps first; every route here calls requireSession() (both CSRF checks).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { acceptInvitation, createInvitation, listInvitations, revokeInvitation } from './auth.invitations';
import { consumeCreation, orgCreateKeys } from './auth.limiter';
import {
  createOrganization,
  leaveOrganization,
  removeMember,
  switchOrganization,
} from './auth.organizations';
import {
  acceptInvitationSchema,
  createInvitationSchema,
  createOrganizationSchema,
  invitationIdParamSchema,
  invitationSchema,
  membershipSchema,
  orgIdParamSchema,
  sessionSchema,
  switchOrganizationSchema,
  userIdParamSchema,
} from './auth.schemas';
import { mailBaseUrl, sessionView } from './auth.service';
import { listMemberships } from './auth.users';
import { clientContext, requireSession, sessionPrincipal } from './session.auth';
export const organizationRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/organizations',
      tags: ['Auth organizations'],
      summary: "The signed-in user's organizations and role in each",
      responses: {
        200: json(z.object({ organizations: z.array(membershipSchema) }), 'Organizations'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const session = await requireSession(c);
      return c.json({ organizations: await listMemberships(c.env.DB, session.userId) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/organizations',
      tags: ['Auth organizations'],
      summary: 'Create an organization (you become its owner) and switch to it',
      request: jsonBody(createOrganizationSchema),
      responses: {
        201: json(membershipSchema, 'Created'),
        ...errorResponses,
        429: {
          ...errorResponses[401],
          description: 'Too many new organizations (Retry-After says when to retry)',
        },
      },
    }),
    async (c) => {
      const session = await requireSession(c);
      await consumeCreation(c.env, orgCreateKeys(clientContext(c).ip, session.userId), 'new organizations');
      return c.json(await createOrganization(c.env, session, c.req.valid('json')), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/organizations/switch',
      tags: ['Auth organizations'],
      summary: "Switch the session's active organization",
      request: jsonBody(switchOrganizationSchema),
      responses: { 200: json(sessionSchema, 'The session, now in that organization'), ...errorResponses },
    }),
    async (c) => {
      const session = await requireSession(c);
      const { organizationId } = c.req.valid('json');
      await switchOrganization(c.env, session, organizationId);
      return c.json(await sessionView(c.env.DB, { ...session, orgId: organizationId }), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/organizations/{id}/leave',
      tags: ['Auth organizations'],
      summary: 'Leave an organization (the last owner cannot); your API keys there are revoked',
      request: { params: orgIdParamSchema },
      responses: {
        200: json(
          z.object({ left: z.literal(true), activeOrganization: membershipSchema.nullable() }),
          'Left',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const session = await requireSession(c);
      const { activeOrganization } = await leaveOrganization(c.env, session, c.req.valid('param').id);
      return c.json({ left: true as const, activeOrganization }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/members/{userId}',
      tags: ['Auth organizations'],
      summary: 'Remove a member from the active organization (members:write; owners only by owners)',
      request: { params: userIdParamSchema },
      responses: {
        200: json(
          z.object({ removed: z.literal(true), userId: z.string(), role: membershipSchema.shape.role }),
          'Removed',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const principal = sessionPrincipal(await requireSession(c));
      const removed = await removeMember(c.env, principal, c.req.valid('param').userId);
      return c.json({ removed: true as const, ...removed }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/invitations',
      tags: ['Auth organizations'],
      summary: 'Pending invitations of the active organization',
      responses: {
        200: json(z.object({ invitations: z.array(invitationSchema) }), 'Invitations'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const principal = sessionPrincipal(await requireSession(c));
      return c.json({ invitations: await listInvitations(c.env, principal) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/invitations',
      tags: ['Auth organizations'],
      summary: 'Invite an email address with a role (single-use token mailed, expires in 7 days)',
      request: jsonBody(createInvitationSchema),
      responses: { 201: json(invitationSchema, 'Invited'), ...errorResponses },
    }),
    async (c) => {
      const principal = sessionPrincipal(await requireSession(c));
      const dto = await createInvitation(
        c.env,
        principal,
        c.req.valid('json'),
        mailBaseUrl(c.env, c.req.url),
      );
      return c.json(dto, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/invitations/{id}',
      tags: ['Auth organizations'],
      summary: 'Revoke a pending invitation',
      request: { params: invitationIdParamSchema },
      responses: {
        200: json(z.object({ revoked: z.literal(true), invitation: invitationSchema }), 'Revoked'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const principal = sessionPrincipal(await requireSession(c));
      const invitation = await revokeInvitation(c.env, principal, c.req.valid('param').id);
      return c.json({ revoked: true as const, invitation }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/invitations/accept',
      tags: ['Auth organizations'],
      summary: 'Accept an invitation sent to your address; the session switches to that organization',
      request: jsonBody(acceptInvitationSchema),
      responses: {
        200: json(z.object({ organization: membershipSchema }), 'Joined'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const session = await requireSession(c);
      const organization = await acceptInvitation(c.env, session, c.req.valid('json').token);
      return c.json({ organization }, 200);
    },
  );
