import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  apiKeyIdParamSchema,
  apiKeySchema,
  createApiKeySchema,
  createdApiKeySchema,
} from './apikeys.schemas';
import { createApiKey, listApiKeys, revokeApiKey } from './apikeys.service';

const tags = ['API keys'];

export const apiKeysRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/api-keys',
      tags,
      summary: 'List API keys (Developers and Auditors see only their own); never the secrets',
      responses: {
        200: json(z.object({ apiKeys: z.array(apiKeySchema) }), 'API keys, oldest first'),
        ...errorResponses,
      },
    }),
    async (c) => c.json({ apiKeys: await listApiKeys(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/api-keys',
      tags,
      summary: 'Create an API key: the key is in this response only, and is never shown again',
      request: jsonBody(createApiKeySchema),
      responses: {
        201: json(createdApiKeySchema, 'Created (the only time `key` is returned)'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const created = await createApiKey(c.env, c.get('principal'), c.req.valid('json'));
      c.header('Cache-Control', 'no-store');
      return c.json(created, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/api-keys/{id}',
      tags,
      summary: 'Revoke an API key: the next call made with it is refused with 401',
      request: { params: apiKeyIdParamSchema },
      responses: { 200: json(apiKeySchema, 'Revoked'), ...errorResponses },
    }),
    async (c) => c.json(await revokeApiKey(c.env, c.get('principal'), c.req.valid('param').id), 200),
  );
