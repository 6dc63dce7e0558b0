/** `/api/v1/tracing` — the organization's OpenTelemetry export (docs/observability.md#tracing). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { tracingPutSchema, tracingSettingsSchema } from './tracing.schemas';
import { deleteTracing, getTracing, putTracing } from './tracing.settings';

const tags = ['Observability'];

export const tracingRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/tracing',
      tags,
      summary: 'The OTLP trace export settings (header values are never returned)',
      responses: {
        200: json(z.object({ tracing: tracingSettingsSchema.nullable() }), 'The settings, null when not set'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ tracing: await getTracing(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/tracing',
      tags,
      summary: 'Set the OTLP/HTTP endpoint, its headers and the sampling rate',
      request: jsonBody(tracingPutSchema),
      responses: { 200: json(tracingSettingsSchema, 'The settings'), ...errorResponses },
    }),
    async (c) => c.json(await putTracing(c.env, c.get('principal'), c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/tracing',
      tags,
      summary: 'Stop exporting traces and forget the endpoint and its headers',
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteTracing(c.env, c.get('principal'));
      return c.body(null, 204);
    },
  );
