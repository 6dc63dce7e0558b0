/** `/api/v1/scans` — the MCP scanner (docs/tool-integrity.md#mcp-scanner). */
import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody, pathParamSchema } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { SCAN_SEVERITIES } from './scans.checks';
import { toSarif } from './scans.sarif';
import { createScan, getScan } from './scans.service';

const tags = ['Tool integrity'];

const createScanSchema = z
  .object({ connection: z.string().min(1).max(64).openapi({ example: 'github-prod' }) })
  .strict();

const findingSchema = z.object({
  kind: z.string(),
  severity: z.enum(SCAN_SEVERITIES),
  item: z.string(),
  path: z.string(),
  match: z.string(),
});

const scanSchema = z
  .object({
    id: z.string(),
    connection: z.string(),
    status: z.enum(['completed', 'failed']),
    error: z.string().nullable(),
    server: z.record(z.string(), z.unknown()).nullable(),
    summary: z.record(z.enum(SCAN_SEVERITIES), z.number()),
    findings: z.array(findingSchema),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('Scan');

const formatQuerySchema = z.object({ format: z.enum(['json', 'sarif']).default('json') });

export const scansRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'post',
      path: '/scans',
      tags,
      summary: "Scan a connection's MCP server (handshake, lists, checks) and keep the result",
      request: jsonBody(createScanSchema),
      responses: {
        201: json(scanSchema, 'The scan (status failed when the server could not be scanned)'),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await createScan(c.env, c.get('principal'), c.req.valid('json').connection), 201),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/scans/{id}',
      tags,
      summary: 'A scan, as JSON or (?format=sarif) SARIF 2.1.0',
      request: { params: pathParamSchema('id', 'scn_…'), query: formatQuerySchema },
      responses: { 200: json(scanSchema, 'The scan (or a SARIF 2.1.0 log)'), ...errorResponses },
    }),
    async (c) => {
      const scan = await getScan(c.env, c.get('principal'), c.req.valid('param').id);
      if (c.req.valid('query').format === 'sarif') {
        const sarif = toSarif({
          id: scan.id,
          connectionSlug: scan.connection,
          findings: scan.findings,
          createdAt: scan.createdAt,
        });
        return new Response(JSON.stringify(sarif), {
          headers: { 'Content-Type': 'application/sarif+json' },
        }) as never;
      }
      return c.json(scan, 200);
    },
  );
