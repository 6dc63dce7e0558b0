/**
 * `/api/v1/xaa/*`: Cross App Access (experimental, CROSS_APP_ACCESS=on) for owners and admins —
 * the identity providers the organization trusts to sign ID-JAG assertions, revocations by `jti`
 * or subject, and exchange statistics (docs/oauth.md#cross-app-access-experimental).
 */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { adminAuditStatementIf } from '../audit/audit.admin';
import { AppError } from '../lib/errors';
import { issuerOf } from './oauth.resource';
import { requireXaa, revokeXaa, xaaStats } from './xaa.admin';
import {
  deleteIssuer,
  issuerUrlProblem,
  listIssuers,
  listRevocations,
  putIssuer,
  XAA_ALGORITHMS,
  xaaIssuerInputSchema,
} from './xaa.store';

const tags = ['Cross App Access'];

const issuerSchema = z
  .object({
    id: z.string(),
    issuer: z.string(),
    jwksUri: z.string(),
    algorithms: z.array(z.string()),
    clients: z.array(z.string()),
    createdAt: z.string(),
  })
  .openapi('XaaIssuer');

const revocationInput = z
  .object({
    issuer: z.string().min(1).max(500),
    jti: z.string().min(1).max(256).optional(),
    subject: z.string().min(1).max(256).optional(),
  })
  .strict()
  .refine((r) => (r.jti === undefined) !== (r.subject === undefined), {
    message: 'give exactly one of jti or subject',
    path: ['jti'],
  });

const revocationSchema = z
  .object({
    id: z.string(),
    issuer: z.string(),
    kind: z.enum(['jti', 'subject']),
    value: z.string(),
    createdAt: z.string(),
  })
  .openapi('XaaRevocation');

const statsSchema = z
  .object({
    since: z.string(),
    exchanges: z.number().int(),
    refused: z.number().int(),
    refusedByReason: z.record(z.string(), z.number().int()),
    byIssuer: z.record(z.string(), z.object({ exchanges: z.number().int(), refused: z.number().int() })),
  })
  .openapi('XaaStats');

export const xaaApiRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/xaa/issuers',
      tags,
      summary: 'Identity providers trusted to sign ID-JAG assertions (experimental); owner/admin',
      responses: { 200: json(z.object({ issuers: z.array(issuerSchema) }), 'Issuers'), ...errorResponses },
    }),
    async (c) => {
      requireXaa(c.env, c.get('principal'));
      return c.json({ issuers: await listIssuers(c.env.DB, c.get('principal').orgId) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/xaa/issuers',
      tags,
      summary: `Trust an IdP (replaces its entry if present): issuer, JWKS, algorithms (${XAA_ALGORITHMS.join(', ')}), allowed clients`,
      request: jsonBody(xaaIssuerInputSchema),
      responses: { 201: json(issuerSchema, 'Trusted'), ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      requireXaa(c.env, principal);
      const input = c.req.valid('json');
      const problem = issuerUrlProblem(c.env, input);
      if (problem) {
        throw new AppError('validation_failed', {
          details: {
            issues: [{ location: 'body', path: problem.path, message: problem.message, rule: problem.rule }],
          },
        });
      }
      const issuer = await putIssuer(c.env.DB, principal.orgId, input, (present) =>
        adminAuditStatementIf(
          c.env.DB,
          principal,
          {
            action: 'auth.xaa_issuer_put',
            type: 'auth',
            details: { issuer: input.issuer, jwksUri: input.jwksUri, clients: input.clients },
          },
          present,
        ),
      );
      return c.json(issuer, 201);
    },
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/xaa/issuers/{id}',
      tags,
      summary: 'Stop trusting an IdP (tokens already issued run until they expire, or revoke them)',
      request: { params: pathParamSchema('id') },
      responses: { 204: { description: 'Removed' }, ...errorResponses },
    }),
    async (c) => {
      const principal = c.get('principal');
      requireXaa(c.env, principal);
      const { id } = c.req.valid('param');
      const audit = (present: { sql: string; binds: unknown[] }) =>
        adminAuditStatementIf(
          c.env.DB,
          principal,
          { action: 'auth.xaa_issuer_delete', type: 'auth', details: { id } },
          present,
        );
      if (!(await deleteIssuer(c.env.DB, principal.orgId, id, audit))) {
        throw new AppError('not_found', {
          message: 'Issuer not found',
          details: { location: 'path', path: 'id' },
        });
      }
      return c.body(null, 204);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/xaa/revocations',
      tags,
      summary: 'Revoked assertions (jti) and subjects',
      responses: {
        200: json(z.object({ revocations: z.array(revocationSchema) }), 'Revocations'),
        ...errorResponses,
      },
    }),
    async (c) => {
      requireXaa(c.env, c.get('principal'));
      return c.json({ revocations: await listRevocations(c.env.DB, c.get('principal').orgId) }, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/xaa/revocations',
      tags,
      summary:
        'Revoke one assertion (jti) or every assertion about a subject: refused at /token from now on, and tokens already issued from them stop at once (audited)',
      request: jsonBody(revocationInput),
      responses: { 201: json(z.object({ revokedGrants: z.number().int() }), 'Revoked'), ...errorResponses },
    }),
    async (c) => {
      requireXaa(c.env, c.get('principal'));
      const body = c.req.valid('json');
      const revocation = body.jti
        ? { issuer: body.issuer, kind: 'jti' as const, value: body.jti }
        : { issuer: body.issuer, kind: 'subject' as const, value: body.subject ?? '' };
      return c.json(await revokeXaa(c.env, c.get('principal'), issuerOf(c.env, c.req.url), revocation), 201);
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/xaa/stats',
      tags,
      summary:
        'Exchanges and refusals (by reason and issuer) over the last `days` days, from the audit trail',
      request: { query: z.object({ days: z.coerce.number().int().min(1).max(90).default(30) }) },
      responses: { 200: json(statsSchema, 'Statistics'), ...errorResponses },
    }),
    async (c) => {
      requireXaa(c.env, c.get('principal'));
      return c.json(await xaaStats(c.env.DB, c.get('principal').orgId, c.req.valid('query').days), 200);
    },
  );
