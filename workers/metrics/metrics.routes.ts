/**
 * Metrics of an organization for Prometheus (docs/observability.md).
 *
 * `GET /metrics/prometheus` is registered before the API's requireAuth because it accepts one more
 * credential: a scraper token (`igm_…`, metrics only). Otherwise the usual API key or session, whose
 * member must read the whole organization's audit trail (owner, admin, auditor): the metrics sum
 * every connection, so a developer (own connections only) may not read them.
 *
 * The totals come from the organization's MetricsHub (one per organization, so no scrape can
 * see another tenant's numbers). A hub that cannot answer is a 503, never an empty exposition that
 * would read as counters reset.
 */
import { createRoute, z } from '@hono/zod-openapi';
import { metricsHubFor } from '../../durable-objects/do.client';
import { requireAuth } from '../api/api.auth';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { unauthorized } from '../auth/api-key.auth';
import { forbidden, grantOf } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { budgetSeries } from './metrics.budgets';
import { createScraperToken, listScraperTokens, revokeScraperToken, scraperOrg } from './metrics.tokens';

const tags = ['Metrics'];
const EXPOSITION_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const tokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string(),
    createdAt: z.string(),
    revokedAt: z.string().nullable(),
  })
  .openapi('MetricsToken');
const createTokenSchema = z
  .strictObject({ name: z.string().trim().min(1).max(200).openapi({ example: 'prometheus' }) })
  .openapi('CreateMetricsToken');

/** The scrape endpoint, mounted before requireAuth (it authenticates scraper tokens itself). */
export const metricsScrapeRoutes = createRouter().openapi(
  createRoute({
    method: 'get',
    path: '/metrics/prometheus',
    tags,
    summary: "The organization's metrics in the Prometheus text format (scraper token or API key)",
    responses: {
      200: { content: { 'text/plain': { schema: z.string() } }, description: 'Prometheus exposition' },
      ...errorResponses,
    },
  }),
  async (c) => {
    const authorization = c.req.header('Authorization') ?? '';
    const bearer = /^Bearer (igm_\S+)$/.exec(authorization)?.[1];
    let orgId: string;
    if (bearer) {
      const org = await scraperOrg(c.env.DB, bearer);
      if (!org) throw unauthorized();
      orgId = org;
    } else {
      await requireAuth(c, async () => {});
      const principal = c.get('principal');
      if (grantOf(principal, 'audit:read') !== 'all') throw forbidden('audit:read', principal.role);
      orgId = principal.orgId;
    }
    let text: string;
    try {
      text = await metricsHubFor(c.env, orgId).exposition(await budgetSeries(c.env, orgId));
    } catch (err) {
      throw new AppError('metrics_unavailable', { internal: err });
    }
    return c.text(text, 200, { 'Content-Type': EXPOSITION_TYPE, 'Cache-Control': 'no-store' });
  },
);

/** Scraper token management (org:write), behind requireAuth. */
export const metricsTokenRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/metrics/tokens',
      tags,
      summary: 'List scraper tokens (never the secrets)',
      responses: { 200: json(z.object({ tokens: z.array(tokenSchema) }), 'Tokens'), ...errorResponses },
    }),
    async (c) => c.json({ tokens: await listScraperTokens(c.env, c.get('principal')) }, 200),
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/metrics/tokens',
      tags,
      summary: 'Create a scraper token: the token is in this response only',
      request: jsonBody(createTokenSchema),
      responses: {
        201: json(tokenSchema.extend({ token: z.string() }), 'Created (the only time `token` is returned)'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const created = await createScraperToken(c.env, c.get('principal'), c.req.valid('json').name);
      c.header('Cache-Control', 'no-store');
      return c.json(created, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/metrics/tokens/{id}',
      tags,
      summary: 'Revoke a scraper token: its next scrape is refused with 401',
      request: { params: pathParamSchema('id', 'mtk_0123456789abcdefghij') },
      responses: { 200: json(tokenSchema, 'Revoked'), ...errorResponses },
    }),
    async (c) => c.json(await revokeScraperToken(c.env, c.get('principal'), c.req.valid('param').id), 200),
  );
