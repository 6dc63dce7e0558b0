/** `/api/v1/approvals` — calls held for approval (`action: "approve"`), and their decisions (approvals.service.ts). */
import { createRoute } from '@hono/zod-openapi';
import { errorResponses, json, jsonBody } from '../api/api.openapi';
import { createRouter } from '../app.factory';
import {
  approvalDecisionSchema,
  approvalIdParamSchema,
  approvalListQuerySchema,
  approvalListSchema,
  approvalSchema,
} from './approvals.schemas';
import { decideApproval, getApproval, listApprovals } from './approvals.service';

const tags = ['Approvals'];

function decisionRoute(verdict: 'approve' | 'deny') {
  return createRoute({
    method: 'post',
    path: `/approvals/{id}/${verdict}`,
    tags,
    summary:
      verdict === 'approve'
        ? 'Approve a held call: the identical call then passes once, until the approval expires'
        : 'Deny a held call: the identical call is refused until the approval would have expired',
    request: { params: approvalIdParamSchema, ...jsonBody(approvalDecisionSchema) },
    responses: { 200: json(approvalSchema, 'The approval'), ...errorResponses },
  });
}

export const approvalsRoutes = createRouter()
  .openapi(
    createRoute({
      method: 'get',
      path: '/approvals',
      tags,
      summary: 'List approvals, newest first (filter by status or connection)',
      request: { query: approvalListQuerySchema },
      responses: { 200: json(approvalListSchema, 'Approvals'), ...errorResponses },
    }),
    async (c) => c.json(await listApprovals(c.env, c.get('principal'), c.req.valid('query')), 200),
  )
  .openapi(
    createRoute({
      method: 'get',
      path: '/approvals/{id}',
      tags,
      summary: 'One approval: the held call (tool, arguments, caller) and its status',
      request: { params: approvalIdParamSchema },
      responses: { 200: json(approvalSchema, 'The approval'), ...errorResponses },
    }),
    async (c) => c.json(await getApproval(c.env, c.get('principal'), c.req.valid('param').id), 200),
  )
  .openapi(decisionRoute('approve'), async (c) =>
    c.json(
      await decideApproval(
        c.env,
        c.get('principal'),
        c.req.valid('param').id,
        'approved',
        c.req.valid('json'),
      ),
      200,
    ),
  )
  .openapi(decisionRoute('deny'), async (c) =>
    c.json(
      await decideApproval(c.env, c.get('principal'), c.req.valid('param').id, 'denied', c.req.valid('json')),
      200,
    ),
  );
