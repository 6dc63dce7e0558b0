/**
 * Request and response shapes of the agent sessions API — the single source for validation and
 * for the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { KILL_SCOPES, SESSION_STATUSES } from '../db/schema';
import { reasonSchema } from '../killswitch/killswitch.schemas';

export const sessionHoldSchema = z
  .object({
    killSwitchId: z.string(),
    scope: z.enum(KILL_SCOPES),
    reason: z.string().nullable(),
    createdAt: z.string(),
  })
  .openapi('SessionHold');

export const sessionSchema = z
  .object({
    id: z.string().openapi({ description: 'ses_… — one per organization and connection' }),
    connectionId: z.string(),
    connectionSlug: z.string(),
    status: z.enum(SESSION_STATUSES).openapi({
      description: 'suspended while an organization, connection or session kill switch holds it',
    }),
    suspendedReason: z.string().nullable(),
    heldBy: z.array(sessionHoldSchema).openapi({ description: 'The kill switches that suspend it' }),
    mcpSessionId: z.string().nullable().openapi({ description: 'Last Mcp-Session-Id seen' }),
    apiKeyId: z.string().nullable().openapi({ description: 'Last API key seen' }),
    user: z.string().nullable().openapi({ description: 'Last X-Igris-User seen' }),
    callCount: z.number().int(),
    lastSeenAt: z.string().nullable(),
    createdAt: z.string().nullable(),
    updatedAt: z.string().nullable(),
  })
  .openapi('AgentSession');

export const listSessionsQuerySchema = z.object({
  connection: z.string().max(64).optional().openapi({ description: 'Connection id or slug' }),
  status: z.enum(SESSION_STATUSES).optional(),
});

export const sessionIdParamSchema = pathParamSchema('id', 'ses_0123456789abcdefghij');

export const suspendSessionSchema = z.strictObject({ reason: reasonSchema }).openapi('SuspendSession');

export type SessionDto = z.infer<typeof sessionSchema>;
export type ListSessionsQuery = z.infer<typeof listSessionsQuerySchema>;
