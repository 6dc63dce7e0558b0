/** `/api/v1/scans` — the MCP scanner (docs/tool-integrity.md#mcp-scanner) — and scan suppressions. */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema, prunedResponse } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { slugParamSchema } from '../connections/connections.schemas';
import { SCAN_SEVERITIES } from './scans.checks';
import { toSarif } from './scans.sarif';
import { createScan, getScan, listScans } from './scans.service';
import { deleteSuppression, listSuppressions, suppressFinding } from './scans.suppressions.service';

const tags = ['Tool integrity'];

const createScanSchema = z
  .union([
    z.object({ connection: z.string().min(1).max(64).openapi({ example: 'github-prod' }) }).strict(),
    z
      .object({
        url: z
          .url({ protocol: /^https?$/ })
          .max(2048)
          .openapi({
            example: 'https://mcp.example.com/mcp',
            description: 'A bare URL: scanned without a credential',
          }),
      })
      .strict(),
  ])
  .openapi('CreateScan');

const findingSchema = z.object({
  id: z.string().openapi({
    description: "The finding's fingerprint (kind, item, path, match): what a suppression names",
  }),
  kind: z.string(),
  severity: z.enum(SCAN_SEVERITIES),
  item: z.string(),
  path: z.string(),
  match: z.string(),
  suppression: z
    .object({
      id: z.string(),
      reason: z.string(),
      by: z.string(),
      at: z.string(),
      expiresAt: z.string().nullable(),
    })
    .nullable(),
});

const scanSummarySchema = z.object({
  id: z.string(),
  connection: z.string().nullable(),
  url: z.string().nullable(),
  status: z.enum(['completed', 'failed']),
  error: z.string().nullable(),
  server: z.record(z.string(), z.unknown()).nullable(),
  summary: z.record(z.enum(SCAN_SEVERITIES), z.number()),
  suppressed: z.number().int(),
  createdBy: z.string().nullable(),
  createdAt: z.string(),
});
const scanSchema = scanSummarySchema.extend({ findings: z.array(findingSchema) }).openapi('Scan');

const formatQuerySchema = z.object({ format: z.enum(['json', 'sarif']).default('json') });
const listQuerySchema = z.object({
  connection: z.string().min(1).max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

const suppressSchema = z
  .object({
    finding: z.string().regex(/^[0-9a-f]{64}$/, 'finding must be a finding id (64 hex characters)'),
    reason: z.string().trim().min(1, 'a reason is required').max(500),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .openapi('SuppressFinding');
const suppressionSchema = z
  .object({
    id: z.string(),
    finding: z.string(),
    kind: z.string(),
    item: z.string(),
    reason: z.string(),
    expiresAt: z.string().nullable(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi('ScanSuppression');

export const scansRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/scans',
      tags,
      summary: "Scan a connection's MCP server (with its credential) or a bare URL, and keep the result",
      request: jsonBody(createScanSchema),
      responses: {
        201: json(scanSchema, 'The scan (status failed when the server could not be scanned)'),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await createScan(c.env, c.get('principal'), c.req.valid('json')), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/scans',
      tags,
      summary: 'Scans, newest first (?connection= one connection); findings are in GET /scans/{id}',
      request: { query: listQuerySchema },
      responses: {
        200: json(z.object({ scans: z.array(scanSummarySchema) }), 'The scans'),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await listScans(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/scans/{id}',
      tags,
      summary: 'A scan, as JSON or (?format=sarif) SARIF 2.1.0',
      request: { params: pathParamSchema('id', 'scn_…'), query: formatQuerySchema },
      responses: {
        200: json(scanSchema, 'The scan (or a SARIF 2.1.0 log)'),
        ...errorResponses,
        ...prunedResponse,
      },
    }),
    async (c) => {
      const scan = await getScan(c.env, c.get('principal'), c.req.valid('param').id);
      if (c.req.valid('query').format === 'sarif') {
        const sarif = toSarif({
          id: scan.id,
          connectionSlug: scan.connection ?? (scan.url ? new URL(scan.url).host : 'url'),
          findings: scan.findings,
          createdAt: scan.createdAt,
          status: scan.status,
          error: scan.error,
        });
        return new Response(JSON.stringify(sarif), {
          headers: { 'Content-Type': 'application/sarif+json' },
        }) as never;
      }
      return c.json(scan, 200);
    },
  )
  .openapi(
    createRoute({
      method: 'post',
      path: '/scans/{id}/suppressions',
      tags,
      summary: "Suppress one of the scan's findings for its connection, with a reason. Owner/admin.",
      request: { params: pathParamSchema('id', 'scn_…'), ...jsonBody(suppressSchema) },
      responses: { 201: json(suppressionSchema, 'The suppression'), ...errorResponses, ...prunedResponse },
    }),
    async (c) =>
      c.json(
        await suppressFinding(c.env, c.get('principal'), c.req.valid('param').id, c.req.valid('json')),
        201,
      ),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/connections/{slug}/scan-suppressions',
      tags,
      summary: "The connection's scan suppressions (expired ones included; they no longer apply)",
      request: { params: slugParamSchema },
      responses: {
        200: json(z.object({ suppressions: z.array(suppressionSchema) }), 'The suppressions'),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await listSuppressions(c.env, c.get('principal'), c.req.valid('param').slug), 200),
  )
  .openapi(
    createRoute({
      method: 'delete',
      path: '/connections/{slug}/scan-suppressions/{id}',
      tags,
      summary: 'Lift a suppression: the finding is reported again. Owner/admin.',
      request: { params: slugParamSchema.extend({ id: z.string().min(1).max(64) }) },
      responses: { 204: { description: 'Lifted' }, ...errorResponses },
    }),
    async (c) => {
      const { slug, id } = c.req.valid('param');
      await deleteSuppression(c.env, c.get('principal'), slug, id);
      return c.body(null, 204);
    },
  );
