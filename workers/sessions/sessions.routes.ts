import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, errorSchema, json } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { publishEvent } from '../events/events.publish';
import {
  listSessionsQuerySchema,
  sessionIdParamSchema,
  sessionSchema,
  suspendSessionSchema,
} from './sessions.schemas';
import { getSession, listSessions, resumeSession, suspendSession } from './sessions.service';

const tags = ['Sessions'];
const unavailable = {
  503: json(errorSchema, 'Recorded, but the connection did not confirm it yet (repeat the request to retry)'),
};

export const sessionsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions',
      tags,
      summary: 'List agent sessions (one per connection that has been used or suspended)',
      request: { query: listSessionsQuerySchema },
      responses: { 200: json(z.object({ sessions: z.array(sessionSchema) }), 'Sessions'), ...errorResponses },
    }),
    async (c) =>
      c.json({ sessions: await listSessions(c.env, c.get('principal'), c.req.valid('query')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/sessions/{id}',
      tags,
      summary: 'Get an agent session',
      request: { params: sessionIdParamSchema },
      responses: { 200: json(sessionSchema, 'The session'), ...errorResponses },
    }),
    async (c) => c.json(await getSession(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sessions/{id}/suspend',
      tags,
      summary:
        'Suspend a session: its calls answer 503 "Session Suspended" and its open streams end (a session kill switch)',
      request: {
        params: sessionIdParamSchema,
        body: { content: { 'application/json': { schema: suspendSessionSchema } }, required: false },
      },
      responses: { 200: json(sessionSchema, 'Suspended'), ...errorResponses, ...unavailable },
    }),
    async (c) => {
      const principal = c.get('principal');
      const body = c.req.valid('json') as { reason?: string } | undefined;
      const result = await suspendSession(c.env, principal, c.req.valid('param').id, body?.reason || null);
      publishEvent(c.env, c.executionCtx, principal.orgId, result.sessionUpdates);
      return c.json(result.session, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/sessions/{id}/resume',
      tags,
      summary:
        'Resume a session (lifts its session kill switches; broader ones stay and are listed in heldBy)',
      request: { params: sessionIdParamSchema },
      responses: { 200: json(sessionSchema, 'Resumed'), ...errorResponses, ...unavailable },
    }),
    async (c) => {
      const principal = c.get('principal');
      const result = await resumeSession(c.env, principal, c.req.valid('param').id);
      publishEvent(c.env, c.executionCtx, principal.orgId, result.sessionUpdates);
      return c.json(result.session, 200);
    },
  );
