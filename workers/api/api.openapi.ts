import { z } from '@hono/zod-openapi';
import { ERROR_CODES } from '../lib/errors';

/** The one error shape of the management API, as it appears in the OpenAPI document. */
export const errorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(ERROR_CODES) as [keyof typeof ERROR_CODES, ...(keyof typeof ERROR_CODES)[]]),
      message: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi('Error');

const errorContent = { content: { 'application/json': { schema: errorSchema } } };

export const errorResponses = {
  400: { ...errorContent, description: 'Invalid input: details name the location and field path' },
  401: { ...errorContent, description: 'Missing, unknown or revoked credentials' },
  403: { ...errorContent, description: 'The caller lacks the permission named in the message' },
  404: { ...errorContent, description: 'Not found (also for resources of other organizations)' },
  409: { ...errorContent, description: 'Conflict' },
} as const;
