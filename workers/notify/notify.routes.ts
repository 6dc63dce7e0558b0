/** `/api/v1/alerts/channels` and `/api/v1/alerts/deliveries` — notification channels (docs/observability.md). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { createChannel, deleteChannel, getChannel, listChannels, updateChannel } from './notify.channels';
import { listDeliveries, replayDelivery, testChannel } from './notify.deliveries';
import {
  channelCreateSchema,
  channelIdParamSchema,
  channelPatchSchema,
  channelSchema,
  deliveryIdParamSchema,
  deliveryListQuerySchema,
  deliverySchema,
  testResultSchema,
} from './notify.schemas';

const tags = ['Alerts'];

export const notifyRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/alerts/channels',
      tags,
      summary: 'List notification channels (secrets are never returned)',
      responses: {
        200: json(z.object({ channels: z.array(channelSchema) }), 'The channels'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ channels: await listChannels(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/alerts/channels',
      tags,
      summary: 'Add a webhook, Slack or SIEM channel',
      request: jsonBody(channelCreateSchema),
      responses: { 201: json(channelSchema, 'The channel'), ...errorResponses },
    }),
    async (c) => c.json(await createChannel(c.env, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/alerts/channels/{id}',
      tags,
      summary: 'One channel',
      request: { params: channelIdParamSchema },
      responses: { 200: json(channelSchema, 'The channel'), ...errorResponses },
    }),
    async (c) => c.json(await getChannel(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/alerts/channels/{id}',
      tags,
      summary: 'Change a channel: name, URL, secret or token, format, routing, enabled',
      request: { params: channelIdParamSchema, ...jsonBody(channelPatchSchema) },
      responses: { 200: json(channelSchema, 'The channel'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await updateChannel(c.env, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/alerts/channels/{id}',
      tags,
      summary: 'Delete a channel and its deliveries',
      request: { params: channelIdParamSchema },
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteChannel(c.env, c.get('principal'), c.req.valid('param').id);
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/alerts/channels/{id}/test',
      tags,
      summary: 'Send a test notification now (one attempt, no retries)',
      request: { params: channelIdParamSchema },
      responses: { 200: json(testResultSchema, 'Whether the channel accepted it'), ...errorResponses },
    }),
    async (c) => c.json(await testChannel(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/alerts/deliveries',
      tags,
      summary: 'Notification deliveries, newest first (status=dead: the dead-letter list)',
      request: { query: deliveryListQuerySchema },
      responses: {
        200: json(
          z.object({ deliveries: z.array(deliverySchema), nextCursor: z.string().nullable() }),
          'A page of deliveries',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await listDeliveries(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/alerts/deliveries/{id}/replay',
      tags,
      summary: 'Send a dead-lettered delivery again (a fresh set of attempts)',
      request: { params: deliveryIdParamSchema },
      responses: { 200: json(deliverySchema, 'The delivery, pending again'), ...errorResponses },
    }),
    async (c) => c.json(await replayDelivery(c.env, c.get('principal'), c.req.valid('param').id), 200),
  );
