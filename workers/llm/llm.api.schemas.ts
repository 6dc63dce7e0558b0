/**
 * Shapes of the LLM management API (`/api/v1/llm/*`): the provider catalog as listed, organization
 * price overrides and usage totals. The single source for validation and the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { timeParam } from '../audit/audit.schemas';
import { LLM_ENDPOINTS } from './llm.endpoints';
import { USAGE_GROUPS } from './llm.usage.store';

// ---------------------------------------------------------------------------------------------
// Providers
// ---------------------------------------------------------------------------------------------

export const providerDtoSchema = z
  .object({
    id: z.string().openapi({ example: 'openai' }),
    name: z.string().openapi({ example: 'OpenAI' }),
    family: z.enum(['openai', 'anthropic']).openapi({ description: 'Request, usage and error shapes' }),
    baseUrl: z.string().nullable().openapi({
      description: 'The default upstream base URL; null when the connection must give upstreamUrl',
    }),
    exampleBaseUrl: z.string().nullable(),
    upstreamUrl: z.enum(['optional', 'required']),
    auth: z
      .object({
        style: z.enum(['bearer', 'x-api-key', 'api-key', 'query', 'none']),
        param: z.string().optional(),
      })
      .openapi({ description: 'How the provider credential is sent (query: as ?<param>=)' }),
    endpoints: z.array(z.enum(LLM_ENDPOINTS)),
    docs: z.string(),
  })
  .openapi('LlmProvider');

export const providerCatalogSchema = z
  .object({
    version: z.number().int(),
    updated: z.string(),
    providers: z.array(providerDtoSchema),
  })
  .openapi('LlmProviderCatalog');

// ---------------------------------------------------------------------------------------------
// Prices
// ---------------------------------------------------------------------------------------------

const perMTok = (description: string) =>
  z.number().nonnegative().finite().max(1_000_000).openapi({ description, example: 2.5 });

const modelName = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[\x21-\x7e]+$/, 'a model name is printable ASCII without spaces')
  .openapi({ example: 'gpt-4o' });

export const putPriceSchema = z
  .strictObject({
    provider: z.string().min(1).max(64).openapi({ example: 'openai' }),
    model: modelName,
    inputPerMTok: perMTok('USD per 1M uncached prompt tokens'),
    cachedInputPerMTok: perMTok('USD per 1M cached prompt tokens (absent: billed as input)')
      .nullable()
      .optional(),
    outputPerMTok: perMTok('USD per 1M completion tokens (reasoning included)'),
  })
  .openapi('PutLlmPrice');

export const priceOverrideSchema = z
  .object({
    provider: z.string(),
    model: z.string(),
    inputPerMTok: z.number(),
    cachedInputPerMTok: z.number().nullable(),
    outputPerMTok: z.number(),
    updatedBy: z.string().nullable(),
    updatedAt: z.string(),
  })
  .openapi('LlmPriceOverride');

export const pricesSchema = z
  .object({
    table: z.object({
      version: z.string(),
      effectiveDate: z.string(),
      source: z.object({ name: z.string(), url: z.string() }),
    }),
    overrides: z.array(priceOverrideSchema),
  })
  .openapi('LlmPrices');

export const deletePriceQuerySchema = z.object({
  provider: z.string().min(1).max(64).openapi({ example: 'openai' }),
  model: modelName,
});

// ---------------------------------------------------------------------------------------------
// Usage
// ---------------------------------------------------------------------------------------------

export const usageQuerySchema = z
  .object({
    from: timeParam('From this time (ISO 8601 or ms); default `to` minus 30 days'),
    to: timeParam('Before this time (ISO 8601 or ms); default now'),
    groupBy: z.enum(USAGE_GROUPS).default('model').openapi({ description: 'The dimension of `groups`' }),
  })
  .refine((q) => q.from === undefined || q.to === undefined || q.from < q.to, {
    message: 'from must be before to',
    path: ['from'],
  });

const figures = {
  requests: z.number().int(),
  inputTokens: z.number().int(),
  cachedInputTokens: z.number().int(),
  outputTokens: z.number().int(),
  reasoningTokens: z.number().int(),
  costUsd: z.number().openapi({ description: 'USD over priced calls' }),
  unpriced: z
    .number()
    .int()
    .openapi({ description: 'Calls with no cost (unknown model, no usage reported)' }),
};

export const usageFiguresSchema = z.object(figures).openapi('LlmUsageFigures');

export const usageReportSchema = z
  .object({
    from: z.string(),
    to: z.string(),
    groupBy: z.enum(USAGE_GROUPS),
    totals: usageFiguresSchema,
    groups: z.array(
      z.object({
        key: z.string().nullable().openapi({
          description:
            'Model, connection id, API key id, end user, or UTC day (YYYY-MM-DD); null when absent',
        }),
        label: z
          .string()
          .nullable()
          .openapi({ description: 'Connection slug or API key name; else the key' }),
        ...figures,
      }),
    ),
    truncated: z.boolean(),
  })
  .openapi('LlmUsage');
