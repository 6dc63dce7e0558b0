/** `/api/v1/system-prompts` — governed system prompts, versions and assignments (docs/budgets-and-prompts.md). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { requirePermission } from '../auth/permissions';
import { promptValues, renderPrompt } from './prompt.template';
import {
  assignmentInputSchema,
  createPromptSchema,
  previewSchema,
  promptSchema,
  updatePromptSchema,
} from './prompts.schemas';
import {
  assignPrompt,
  createPrompt,
  deletePrompt,
  getPrompt,
  listPrompts,
  unassignPrompt,
  updatePrompt,
} from './prompts.service';

const tags = ['System prompts'];
const idParam = pathParamSchema('id', 'spr_abc');

export const promptsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/system-prompts',
      tags,
      summary: 'Governed system prompts (current version) with their assignments',
      responses: {
        200: json(z.object({ systemPrompts: z.array(promptSchema) }), 'Prompts'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ systemPrompts: await listPrompts(c.env.DB, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/system-prompts',
      tags,
      summary: 'Create a governed system prompt (version 1); unknown {{variables}} are refused',
      request: jsonBody(createPromptSchema),
      responses: { 201: json(promptSchema, 'Created'), ...errorResponses },
    }),
    async (c) => c.json(await createPrompt(c.env.DB, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/system-prompts/preview',
      tags,
      summary: 'Render a template with chosen values (nothing is saved)',
      request: jsonBody(previewSchema),
      responses: { 200: json(z.object({ rendered: z.string() }), 'The rendered text'), ...errorResponses },
    }),
    (c) => {
      requirePermission(c.get('principal'), 'policies:read');
      const input = c.req.valid('json');
      const values = promptValues(
        {
          user: input.user ?? null,
          team: input.team ?? null,
          organization: '',
          connection: input.connection ?? '',
        },
        Date.now(),
      );
      return c.json({ rendered: renderPrompt(input.text, values) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/system-prompts/{id}',
      tags,
      summary: 'One prompt with its versions and assignments',
      request: { params: idParam },
      responses: { 200: json(promptSchema, 'The prompt'), ...errorResponses },
    }),
    async (c) => c.json(await getPrompt(c.env.DB, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/system-prompts/{id}',
      tags,
      summary: 'Rename, or save a new text as the next version',
      request: { params: idParam, ...jsonBody(updatePromptSchema) },
      responses: { 200: json(promptSchema, 'Updated'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updatePrompt(c.env.DB, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/system-prompts/{id}',
      tags,
      summary: 'Delete a prompt, its versions and its assignments',
      request: { params: idParam },
      responses: {
        200: json(z.object({ deleted: z.literal(true), id: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { id } = c.req.valid('param');
      await deletePrompt(c.env.DB, c.get('principal'), id);
      return c.json({ deleted: true as const, id }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/system-prompts/{id}/assignments',
      tags,
      summary: 'Assign the prompt to an LLM connection or a team, with a priority and a mode',
      request: { params: idParam, ...jsonBody(assignmentInputSchema) },
      responses: { 201: json(promptSchema, 'The prompt with its assignments'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await assignPrompt(c.env.DB, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        201,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/system-prompts/{id}/assignments/{assignmentId}',
      tags,
      summary: 'Remove an assignment',
      request: { params: idParam.extend({ assignmentId: z.string().min(1).max(64) }) },
      responses: { 200: json(promptSchema, 'The prompt with its assignments'), ...errorResponses },
    }),
    async (c) => {
      const { id, assignmentId } = c.req.valid('param');
      return c.json(await unassignPrompt(c.env.DB, c.get('principal'), id, assignmentId), 200);
    },
  );
