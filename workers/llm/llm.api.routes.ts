/**
 * `/api/v1/llm/*` — the management side of the LLM gateway: the provider catalog, organization
 * price overrides, usage totals. LLM connections themselves are managed by the connections API
 * (`type: "llm"`).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  deletePriceQuerySchema,
  priceOverrideSchema,
  pricesSchema,
  providerCatalogSchema,
  putPriceSchema,
  usageQuerySchema,
  usageReportSchema,
} from './llm.api.schemas';
import { LLM_CATALOG } from './llm.catalog';
import { PRICE_TABLE } from './llm.prices';
import { deletePriceOverride, listPriceOverrides, putPriceOverride } from './llm.prices.store';
import { llmUsage } from './llm.usage.store';

const tags = ['LLM'];

/** The catalog as listed: what a person creating a connection needs (no internals, nothing secret). */
function listedCatalog() {
  return {
    version: LLM_CATALOG.version,
    updated: LLM_CATALOG.updated,
    providers: LLM_CATALOG.providers.map((p) => ({
      id: p.id,
      name: p.name,
      family: p.family,
      baseUrl: p.baseUrl,
      exampleBaseUrl: p.exampleBaseUrl ?? null,
      upstreamUrl: p.upstreamUrl,
      auth: p.auth,
      endpoints: p.endpoints,
      docs: p.docs,
    })),
  };
}

export const llmApiRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/llm/providers',
      tags,
      summary: 'The built-in LLM provider catalog (for `settings.provider` of llm connections)',
      responses: { 200: json(providerCatalogSchema, 'The catalog'), ...errorResponses },
    }),
    (c) => c.json(listedCatalog(), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/llm/prices',
      tags,
      summary: "The built-in price table's version and the organization's price overrides",
      responses: { 200: json(pricesSchema, 'Prices'), ...errorResponses },
    }),
    async (c) =>
      c.json(
        {
          table: {
            version: PRICE_TABLE.version,
            effectiveDate: PRICE_TABLE.effectiveDate,
            source: { name: PRICE_TABLE.source.name, url: PRICE_TABLE.source.url },
          },
          overrides: await listPriceOverrides(c.env.DB, c.get('principal')),
        },
        200,
      ),
  )
  .openapi(
    createRoute({
      method: 'put',
      path: '/llm/prices',
      tags,
      summary:
        'Set the price of one model for this organization (owner, admin); wins over the built-in table',
      request: jsonBody(putPriceSchema),
      responses: { 200: json(priceOverrideSchema, 'The override'), ...errorResponses },
    }),
    async (c) => c.json(await putPriceOverride(c.env.DB, c.get('principal'), c.req.valid('json')), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/llm/prices',
      tags,
      summary: 'Remove a price override (owner, admin); the built-in price applies again',
      request: { query: deletePriceQuerySchema },
      responses: {
        200: json(z.object({ deleted: z.literal(true), provider: z.string(), model: z.string() }), 'Deleted'),
        ...errorResponses,
      },
    }),
    async (c) => {
      const { provider, model } = c.req.valid('query');
      await deletePriceOverride(c.env.DB, c.get('principal'), provider, model);
      return c.json({ deleted: true as const, provider, model }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/llm/usage',
      tags,
      summary:
        'LLM requests, tokens and cost over a time range, grouped by model, connection, key, user or day',
      request: { query: usageQuerySchema },
      responses: { 200: json(usageReportSchema, 'Usage'), ...errorResponses },
    }),
    async (c) => c.json(await llmUsage(c.env.DB, c.get('principal'), c.req.valid('query')), 200),
  );
