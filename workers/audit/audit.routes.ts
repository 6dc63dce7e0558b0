import { createRoute, z } from '@hono/zod-openapi';
import { errorResponses, json } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import { log } from '../lib/log';
import { listCheckpoints } from './audit.checkpoints';
import { EXPORT_CONTENT_TYPES, exportStream } from './audit.export';
import {
  auditEventSchema,
  auditExportQuerySchema,
  auditListQuerySchema,
  auditPageSchema,
  eventIdParamSchema,
  traceIdParamSchema,
  traceSchema,
} from './audit.schemas';
import { auditPages, getAuditEvent, getTrace, listAuditEvents } from './audit.service';
import { signedChainExport, signingPublicKey } from './audit.signed-export';
import { verifyAuditChain } from './audit.verify';

const tags = ['Audit'];

const chainBreakSchema = z.object({
  chain: z.string(),
  seq: z.number().int(),
  eventId: z.string(),
  reason: z.enum(['link_missing', 'link_mismatch', 'link_altered', 'row_altered', 'row_missing']),
});
const verifyReportSchema = z
  .object({
    ok: z.boolean(),
    chains: z.array(
      z.object({
        chain: z.string(),
        anchor: z.number().int(),
        links: z.number().int(),
        head: z.number().int(),
        broken: chainBreakSchema.nullable(),
      }),
    ),
    rowsChecked: z.number().int(),
    firstBroken: chainBreakSchema.nullable(),
    unchained: z.object({ count: z.number().int(), eventIds: z.array(z.string()) }),
  })
  .openapi('AuditVerifyReport');

const checkpointHeadSchema = z.object({
  chain: z.string(),
  first: z.number().int(),
  seq: z.number().int(),
  hash: z.string(),
});
const checkpointPageSchema = z
  .object({
    checkpoints: z.array(
      z.object({
        id: z.string(),
        kind: z.literal('checkpoint'),
        version: z.literal(1),
        orgId: z.string(),
        createdAt: z.string(),
        heads: z.array(checkpointHeadSchema),
        keyId: z.string(),
        publicKey: z.string(),
        signature: z.string(),
      }),
    ),
    nextCursor: z.string().nullable(),
  })
  .openapi('AuditCheckpointPage');
const checkpointQuerySchema = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(100),
  cursor: z.string().max(200).optional(),
});

export const auditRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit-events',
      tags,
      summary: 'List audit events, newest first (cursor pagination)',
      request: { query: auditListQuerySchema },
      responses: { 200: json(auditPageSchema, 'A page of events'), ...errorResponses },
    }),
    async (c) => c.json(await listAuditEvents(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  // Registered before /audit-events/{id}, which would otherwise take "export" as an id.
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit-events/export',
      tags,
      summary: 'Export audit events (same filters) as a streamed NDJSON or CSV download',
      request: { query: auditExportQuerySchema },
      responses: {
        200: {
          content: {
            'application/x-ndjson': { schema: z.string() },
            'text/csv': { schema: z.string() },
          },
          description: 'The events, newest first, streamed',
        },
        ...errorResponses,
      },
    }),
    async (c) => {
      const { format, ...filters } = c.req.valid('query');
      const principal = c.get('principal');
      const pages = await auditPages(c.env, principal, filters);
      const stream = exportStream(pages, format, (err) =>
        log('error', 'audit export failed mid-stream', { orgId: principal.orgId, err }),
      );
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      return new Response(stream, {
        status: 200,
        headers: {
          'Content-Type': EXPORT_CONTENT_TYPES[format],
          'Content-Disposition': `attachment; filename="audit-events-${stamp}.${format}"`,
          'Cache-Control': 'no-store',
        },
      });
    },
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit-events/{id}',
      tags,
      summary: 'Get one audit event',
      request: { params: eventIdParamSchema },
      responses: { 200: json(auditEventSchema, 'The event'), ...errorResponses },
    }),
    async (c) => c.json(await getAuditEvent(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/traces/{traceId}',
      tags,
      summary: "A trace's events, oldest first",
      request: { params: traceIdParamSchema },
      responses: { 200: json(traceSchema, 'The trace'), ...errorResponses },
    }),
    async (c) => c.json(await getTrace(c.env, c.get('principal'), c.req.valid('param').traceId), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit/verify',
      tags,
      summary: "Recompute the organization's audit hash chains and report the first broken link of each",
      responses: { 200: json(verifyReportSchema, 'The verification report'), ...errorResponses },
    }),
    async (c) => c.json(await verifyAuditChain(c.env, c.get('principal')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit/chain/export',
      tags,
      summary:
        'The hash chains with their rows, ending in an Ed25519-signed checkpoint (verify offline: igris-edge audit verify)',
      responses: {
        200: {
          description: 'NDJSON (application/x-ndjson): link lines, then the signed checkpoint',
        },
        ...errorResponses,
      },
    }),
    async (c) =>
      c.body(await signedChainExport(c.env, c.get('principal')), 200, {
        'Content-Type': 'application/x-ndjson; charset=utf-8',
        'Content-Disposition': 'attachment; filename="audit-chain.ndjson"',
        'Cache-Control': 'no-store',
      }),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit/checkpoints',
      tags,
      summary:
        "The gateway's periodic Ed25519-signed checkpoints of the audit chains, newest first (verify an export against them: igris-edge audit verify --checkpoints)",
      request: { query: checkpointQuerySchema },
      responses: { 200: json(checkpointPageSchema, 'A page of checkpoints'), ...errorResponses },
    }),
    async (c) => c.json(await listCheckpoints(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/audit/signing-key',
      tags,
      summary: "The organization's audit signing public key (pin it when verifying an export offline)",
      responses: {
        200: json(
          z.object({ keyId: z.string(), publicKey: z.string(), algorithm: z.literal('Ed25519') }),
          'The public key (base64url, raw 32 bytes)',
        ),
        ...errorResponses,
      },
    }),
    async (c) => c.json(await signingPublicKey(c.env, c.get('principal')), 200),
  );
