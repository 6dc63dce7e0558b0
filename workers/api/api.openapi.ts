import { z } from '@hono/zod-openapi';
import { ERROR_CODES } from '../lib/errors';
import { apiBodyCap } from './api.body-caps';

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

/** The answer of a route that reads something a retention rule may have pruned (errors.ts `pruned`). */
export const prunedResponse = {
  410: { ...errorContent, description: 'Pruned by retention: details keep its hash, author and times' },
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

interface DocumentedOperation {
  requestBody?: unknown;
  responses?: Record<string, unknown>;
}

/**
 * The document with a 413 on every operation that takes a body, naming that route's cap
 * (api.body-limit.ts capApiBody refuses a longer body before any validator runs). Added here, from
 * the same table the middleware reads, rather than on each route, so the two cannot disagree.
 */
export function withBodyCaps<D extends { paths?: object }>(doc: D, basePath: string): D {
  for (const [path, item] of Object.entries(doc.paths ?? {})) {
    for (const [method, operation] of Object.entries(item as Record<string, unknown>)) {
      const op = operation as DocumentedOperation;
      if (!op || typeof op !== 'object' || op.requestBody === undefined) continue;
      const maxBytes = apiBodyCap(method.toUpperCase(), `${basePath}${path}`);
      op.responses = {
        ...op.responses,
        413: {
          content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
          description: `Request body longer than ${maxBytes} bytes (code payload_too_large)`,
        },
      };
    }
  }
  return doc;
}
