/**
 * Request and response shapes of the API keys API — the single source for validation and for the
 * OpenAPI document. The secret itself appears in exactly one shape: the response to creation.
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { ROLES } from '../db/schema';

export const createApiKeySchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).openapi({ example: 'CI deploy key' }),
    role: z
      .enum(ROLES)
      .optional()
      .openapi({ description: "Defaults to the caller's role; a key may not exceed its creator's role" }),
  })
  .openapi('CreateApiKey');

export const apiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string().openapi({ description: 'First 10 characters of the key, for telling keys apart' }),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    lastUsedAt: z.string().nullable(),
    revokedAt: z.string().nullable(),
  })
  .openapi('ApiKey');

export const createdApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    prefix: z.string(),
    createdAt: z.string(),
    key: z.string().openapi({
      description: 'The secret key (ig_…). Shown only in this response: only its hash is stored.',
      example: 'ig_AbC1234…',
    }),
  })
  .openapi('CreatedApiKey');

export const apiKeyIdParamSchema = pathParamSchema('id', 'key_0123456789abcdefghij');

export type CreateApiKeyInput = z.infer<typeof createApiKeySchema>;
export type ApiKeyDto = z.infer<typeof apiKeySchema>;
export type CreatedApiKeyDto = z.infer<typeof createdApiKeySchema>;
