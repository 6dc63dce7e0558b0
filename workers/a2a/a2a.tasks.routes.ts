/**
 * The A2A tasks an agent reported through the gateway (docs/a2a.md#tasks), read from the tracking
 * tables (a2a.tasks.store.ts). Reading them is reading the audit trail: `audit:read`, scoped to the
 * caller's organization (another organization's agent or task is "not found").
 *
 *   GET /connections/{slug}/tasks            most recently updated first (`state`, `before`, `limit`)
 *   GET /connections/{slug}/tasks/{taskId}   one task with its events: each state change, and the
 *                                            metadata of each message and artifact (their text and
 *                                            data only when the connection's `logContent` is on)
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { getConnectionRow } from '../connections/connections.read';
import { slugParamSchema } from '../connections/connections.schemas';
import { A2A_TASK_EVENT_KINDS } from '../db/schema';
import { AppError } from '../lib/errors';
import { getTask, listTasks } from './a2a.tasks.store';

const tags = ['A2A agents'];

const taskSummarySchema = z
  .object({
    taskId: z.string(),
    contextId: z.string().nullable(),
    state: z.string().openapi({ example: 'completed' }),
    skill: z.string().nullable(),
    user: z.string().nullable(),
    firstTraceId: z.string().nullable(),
    lastTraceId: z.string().nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('A2aTask');

const taskEventSchema = z
  .object({
    kind: z.enum(A2A_TASK_EVENT_KINDS),
    state: z.string().nullable(),
    traceId: z.string().nullable(),
    method: z.string().nullable(),
    detail: z.unknown().openapi({ description: 'Message metadata (messageId, role, parts, metadata)' }),
    at: z.string(),
  })
  .openapi('A2aTaskEvent');

const taskDetailSchema = taskSummarySchema
  .extend({ events: z.array(taskEventSchema) })
  .openapi('A2aTaskDetail');

const listQuerySchema = z.object({
  state: z.string().min(1).max(40).optional(),
  before: z.coerce.number().int().min(0).optional().openapi({ description: 'updatedAt (ms) to page before' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const taskParamSchema = slugParamSchema.merge(pathParamSchema('taskId', undefined, 200));

async function a2aConnection(
  c: Parameters<typeof getConnectionRow>[0],
  principal: Parameters<typeof getConnectionRow>[1],
  slug: string,
) {
  const row = await getConnectionRow(c, principal, slug, 'audit:read');
  if (row.type !== 'a2a') {
    throw new AppError('not_found', {
      message: 'Not an A2A connection',
      details: { location: 'path', path: 'slug' },
    });
  }
  return row;
}

export const a2aTasksRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/tasks',
      tags,
      summary: 'The tasks an A2A agent reported through the gateway, most recently updated first',
      request: { params: slugParamSchema, query: listQuerySchema },
      responses: { 200: json(z.object({ tasks: z.array(taskSummarySchema) }), 'Tasks'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const row = await a2aConnection(c.env, principal, c.req.valid('param').slug);
      const tasks = await listTasks(c.env.DB, principal.orgId, row.id, c.req.valid('query'));
      return c.json({ tasks }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/tasks/{taskId}',
      tags,
      summary: 'One A2A task with its state changes and the metadata of its messages',
      request: { params: taskParamSchema },
      responses: { 200: json(taskDetailSchema, 'The task'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      const { slug, taskId } = c.req.valid('param');
      const row = await a2aConnection(c.env, principal, slug);
      const task = await getTask(c.env.DB, principal.orgId, row.id, taskId);
      if (!task) {
        throw new AppError('not_found', {
          message: 'Task not found',
          details: { location: 'path', path: 'taskId' },
        });
      }
      return c.json(task, 200);
    },
  );
