/** `/api/v1/connections/{slug}/tools…` — tool integrity (docs/tool-integrity.md). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { slugParamSchema } from '../connections/connections.schemas';
import {
  approveSchema,
  historyQuerySchema,
  quarantineSchema,
  toolListSchema,
  toolVersionSchema,
} from './integrity.schemas';
import { approveTools, listTools, quarantineTool, rescanTools, toolHistory } from './integrity.service';

const tags = ['Tool integrity'];

export const integrityRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/tools',
      tags,
      summary: 'Listed tools, prompts and resources with fingerprints, approval and quarantine state',
      request: { params: slugParamSchema },
      responses: { 200: json(toolListSchema, 'The inventory'), ...errorResponses },
    }),
    async (c) => c.json(await listTools(c.env, c.get('principal'), c.req.valid('param').slug), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/tools/history',
      tags,
      summary: 'Every recorded version of the listed items, newest first, with classified changes',
      request: { params: slugParamSchema, query: historyQuerySchema },
      responses: {
        200: json(z.object({ versions: z.array(toolVersionSchema) }), 'The history'),
        ...errorResponses,
      },
    }),
    async (c) =>
      c.json(
        await toolHistory(c.env, c.get('principal'), c.req.valid('param').slug, c.req.valid('query')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/tools/approve',
      tags,
      summary: 'Approve exact fingerprints (the pinned baseline); lifts their quarantine. Owner/admin.',
      request: { params: slugParamSchema, ...jsonBody(approveSchema) },
      responses: { 200: json(toolListSchema, 'The inventory after approval'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await approveTools(c.env, c.get('principal'), c.req.valid('param').slug, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/tools/quarantine',
      tags,
      summary: 'Quarantine an item: hidden from lists and refused until re-approved. Owner/admin.',
      request: { params: slugParamSchema, ...jsonBody(quarantineSchema) },
      responses: { 200: json(toolListSchema, 'The inventory after quarantine'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        await quarantineTool(c.env, c.get('principal'), c.req.valid('param').slug, c.req.valid('json')),
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/connections/{slug}/tools/rescan',
      tags,
      summary:
        "Re-scan the connection's tools for shadowing against the organization's other connections now. Owner/admin.",
      request: { params: slugParamSchema },
      responses: { 200: json(toolListSchema, 'The inventory after the re-scan'), ...errorResponses },
    }),
    async (c) => c.json(await rescanTools(c.env, c.get('principal'), c.req.valid('param').slug), 200),
  );
