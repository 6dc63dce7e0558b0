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

/** A JSON response of a route: its schema and what it means. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({
  content: { 'application/json': { schema } },
  description,
});

/** A route's required JSON request body (spread into `request`, beside `params` or `query`). */
export const jsonBody = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

/**
 * The path parameters of a route that names one resource: `{ [name]: non-empty string of at most
 * `maxLength` }`, documented as a path parameter (with an example id when given).
 */
export function pathParamSchema<const N extends string>(name: N, example?: string, maxLength = 64) {
  const value = z.string().min(1).max(maxLength);
  const shape = {
    [name]: example === undefined ? value : value.openapi({ param: { name, in: 'path' }, example }),
  } as { [K in N]: z.ZodString };
  return z.object(shape);
}
