/** Request and response shapes of the approvals API (single source for validation and OpenAPI). */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { APPROVAL_STATUSES } from '../db/schema';

export const approvalSchema = z
  .object({
    id: z.string(),
    connectionId: z.string(),
    connectionSlug: z.string(),
    protocol: z.string().openapi({ description: 'mcp | llm | a2a' }),
    tool: z.string().openapi({ description: 'The governed name: tool, resource:…, model or skill' }),
    argsHash: z.string().openapi({ description: 'SHA-256 (hex) of the canonical JSON of the arguments' }),
    args: z.unknown().openapi({ description: 'The arguments (null when over 16 KiB: the hash still binds)' }),
    apiKeyId: z.string().nullable(),
    userId: z.string().nullable(),
    caller: z.string().nullable().openapi({ description: 'X-Igris-User (or the OAuth member) of the call' }),
    ruleIndex: z.number().int().nullable(),
    reason: z.string().nullable(),
    taint: z.array(z.string()).nullable().openapi({
      description:
        'Session taint: the labels the session had touched when the call was held under onTaint "approve"; null for an approve rule',
    }),
    /** Effective status: a pending or approved approval past its expiry reads `expired`. */
    status: z.enum(APPROVAL_STATUSES),
    traceId: z.string().nullable(),
    requestedAt: z.string(),
    expiresAt: z.string(),
    decidedBy: z.string().nullable(),
    decidedAt: z.string().nullable(),
    comment: z.string().nullable(),
    usedAt: z.string().nullable(),
  })
  .openapi('Approval');

export const approvalListQuerySchema = z.object({
  status: z.enum(APPROVAL_STATUSES).optional(),
  connectionId: z.string().max(64).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const approvalListSchema = z.object({ approvals: z.array(approvalSchema) }).openapi('ApprovalList');

export const approvalDecisionSchema = z
  .strictObject({ comment: z.string().trim().max(500).optional() })
  .openapi('ApprovalDecision');

export const approvalIdParamSchema = pathParamSchema('id', 'apr_0123456789abcdefghij');

export type ApprovalDto = z.infer<typeof approvalSchema>;
export type ApprovalListQuery = z.infer<typeof approvalListQuerySchema>;
export type ApprovalDecision = z.infer<typeof approvalDecisionSchema>;
