/** `/api/v1/alerts` — the alert inbox (alerts.service.ts). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  alertBulkSchema,
  alertIdParamSchema,
  alertListQuerySchema,
  alertPageSchema,
  alertPatchSchema,
  alertSchema,
} from './alerts.schemas';
import { bulkUpdateAlerts, listAlerts, updateAlert } from './alerts.service';

const tags = ['Alerts'];

export const alertsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/alerts',
      tags,
      summary: 'List alerts, most recently seen first (filters, cursor pagination)',
      request: { query: alertListQuerySchema },
      responses: { 200: json(alertPageSchema, 'A page of alerts'), ...errorResponses },
    }),
    async (c) => c.json(await listAlerts(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/alerts/bulk',
      tags,
      summary: 'Change the status of many alerts at once',
      request: jsonBody(alertBulkSchema),
      responses: {
        200: json(
          z.object({
            updated: z.array(z.string()),
            failed: z.array(z.object({ id: z.string(), code: z.string() })),
          }),
          'What changed, and what could not',
        ),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { ids, status } = c.req.valid('json');
      return c.json(await bulkUpdateAlerts(c.env, c.get('principal'), ids, status), 200);
    },
  )
  .openapi(
    createRoute({
      method: 'patch',
      path: '/alerts/{id}',
      tags,
      summary: 'Acknowledge, resolve, dismiss or reopen an alert; set its assignee or comment',
      request: { params: alertIdParamSchema, ...jsonBody(alertPatchSchema) },
      responses: { 200: json(alertSchema, 'The alert'), ...errorResponses },
    }),
    async (c) =>
      c.json(await updateAlert(c.env, c.get('principal'), c.req.valid('param').id, c.req.valid('json')), 200),
  );
