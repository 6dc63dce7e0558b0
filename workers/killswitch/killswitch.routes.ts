import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, errorSchema, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { publishEvent } from '../events/events.publish';
import {
  createKillSwitchSchema,
  killSwitchIdParamSchema,
  killSwitchSchema,
  listKillSwitchesQuerySchema,
} from './killswitch.schemas';
import { createKillSwitch, getKillSwitch, liftKillSwitch, listKillSwitches } from './killswitch.service';

const tags = ['Kill switch'];
const unavailable = {
  503: json(errorSchema, 'Recorded, but not every connection confirmed it yet (repeat the request to retry)'),
};

export const killSwitchRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/kill-switch',
      tags,
      summary:
        'Pull a kill switch: matching gateway calls answer 503 "Session Suspended" and their open streams end, everywhere, by the time this answers',
      request: jsonBody(createKillSwitchSchema),
      responses: {
        201: json(killSwitchSchema, 'Pulled'),
        200: json(killSwitchSchema, 'Already active with this scope and target (pushed again)'),
        ...errorResponses,
        ...unavailable,
      },
    }),
    async (c) => {
      const principal = c.get('principal');
      const result = await createKillSwitch(c.env, principal, c.req.valid('json'));
      publishEvent(c.env, c.executionCtx, principal.orgId, result.sessionUpdates);
      return c.json(result.killSwitch, result.created ? 201 : 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/kill-switch',
      tags,
      summary: 'List kill switches, newest first',
      request: { query: listKillSwitchesQuerySchema },
      responses: {
        200: json(z.object({ killSwitches: z.array(killSwitchSchema) }), 'Kill switches'),
        ...errorResponses,
      },
    }),
    async (c) =>
      c.json({ killSwitches: await listKillSwitches(c.env, c.get('principal'), c.req.valid('query')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/kill-switch/{id}',
      tags,
      summary: 'Get a kill switch',
      request: { params: killSwitchIdParamSchema },
      responses: { 200: json(killSwitchSchema, 'The kill switch'), ...errorResponses },
    }),
    async (c) => c.json(await getKillSwitch(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/kill-switch/{id}',
      tags,
      summary: 'Lift a kill switch (idempotent)',
      request: { params: killSwitchIdParamSchema },
      responses: { 200: json(killSwitchSchema, 'Lifted'), ...errorResponses, ...unavailable },
    }),
    async (c) => {
      const principal = c.get('principal');
      const result = await liftKillSwitch(c.env, principal, c.req.valid('param').id);
      publishEvent(c.env, c.executionCtx, principal.orgId, result.sessionUpdates);
      return c.json(result.killSwitch, 200);
    },
  );
