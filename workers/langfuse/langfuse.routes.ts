/** `/api/v1/integrations/langfuse` — the organization's Langfuse project (docs/observability.md#langfuse). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  deleteLangfuse,
  getLangfuse,
  langfusePutSchema,
  langfuseSettingsSchema,
  putLangfuse,
} from './langfuse.settings';

const tags = ['Observability'];
const path = '/integrations/langfuse';

export const langfuseRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path,
      tags,
      summary: 'The Langfuse project LLM calls are sent to (the secret key is never returned)',
      responses: {
        200: json(
          z.object({ langfuse: langfuseSettingsSchema.nullable() }),
          'The settings, null when not set',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ langfuse: await getLangfuse(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'put',
      path,
      tags,
      summary: "Send the organization's LLM calls to a Langfuse project (host, public and secret key)",
      request: jsonBody(langfusePutSchema),
      responses: { 200: json(langfuseSettingsSchema, 'The settings'), ...errorResponses },
    }),
    async (c) => c.json(await putLangfuse(c.env, c.get('principal'), c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path,
      tags,
      summary: 'Stop sending LLM calls to Langfuse and forget the keys',
      responses: { 204: { description: 'Deleted' }, ...errorResponses },
    }),
    async (c) => {
      await deleteLangfuse(c.env, c.get('principal'));
      return c.body(null, 204);
    },
  );
