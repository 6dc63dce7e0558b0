/** `/api/v1/teams` — teams and their members (docs/budgets-and-prompts.md). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { addMemberSchema, createTeamSchema, teamSchema, updateTeamSchema } from './teams.schemas';
import {
  addTeamMember,
  createTeam,
  deleteTeam,
  getTeam,
  listTeams,
  removeTeamMember,
  updateTeam,
} from './teams.service';

const tags = ['Teams'];
const idParam = pathParamSchema('id', 'team_abc');
const memberParam = idParam.extend({ memberId: z.string().min(1).max(64) });

export const teamsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/teams',
      tags,
      summary: 'List teams with their members',
      responses: { 200: json(z.object({ teams: z.array(teamSchema) }), 'Teams'), ...errorResponses },
    }),
    async (c) => c.json({ teams: await listTeams(c.env.DB, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/teams',
      tags,
      summary: 'Create a team (owner, admin)',
      request: jsonBody(createTeamSchema),
      responses: { 201: json(teamSchema, 'Created'), ...errorResponses },
    }),
    async (c) => c.json(await createTeam(c.env.DB, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/teams/{id}',
      tags,
      summary: 'One team',
      request: { params: idParam },
      responses: { 200: json(teamSchema, 'The team'), ...errorResponses },
    }),
    async (c) => c.json(await getTeam(c.env.DB, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/teams/{id}',
      tags,
      summary: 'Rename or describe a team',
      request: { params: idParam, ...jsonBody(updateTeamSchema) },
      responses: { 200: json(teamSchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updateTeam(c.env.DB, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/teams/{id}',
      tags,
      summary: 'Delete a team, its members, its budgets and its prompt assignments',
      request: { params: idParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), id: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await deleteTeam(c.env.DB, c.get('principal'), id);
      return c.json({ deleted: true as const, id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/teams/{id}/members',
      tags,
      summary: 'Add a member: a user (userId), an X-Igris-User value (externalUser) or an API key (apiKeyId)',
      request: { params: idParam, ...jsonBody(addMemberSchema) },
      responses: { 201: json(teamSchema, 'The team with its members'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await addTeamMember(c.env.DB, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        201,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/teams/{id}/members/{memberId}',
      tags,
      summary: 'Remove a member',
      request: { params: memberParam },
      responses: { 200: json(teamSchema, 'The team with its members'), ...errorResponses },
    }),
    async (c) => {
      const { id, memberId } = c.req.valid('param');
      return c.json(await removeTeamMember(c.env.DB, c.get('principal'), id, memberId), 200);
    },
  );
