/**
 * Request and response shapes of the kill-switch API — the single source for validation and for
 * the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { KILL_SCOPES } from '../db/schema';

export const reasonSchema = z
  .string()
  .trim()
  .max(500, 'reason is at most 500 characters')
  .optional()
  .openapi({ example: 'Agent deleting production data' });

export const createKillSwitchSchema = z
  .strictObject({
    scope: z.enum(KILL_SCOPES).openapi({
      description:
        'organization (target: the organization id), connection (connection id or slug), session (agent session id), apiKey (API key id), user (an X-Igris-User value)',
    }),
    target: z.string().trim().min(1, 'target must not be empty').max(256).openapi({ example: 'con_…' }),
    reason: reasonSchema,
  })
  .openapi('CreateKillSwitch');

export const killSwitchSchema = z
  .object({
    id: z.string(),
    scope: z.enum(KILL_SCOPES),
    target: z.string(),
    reason: z.string().nullable(),
    active: z.boolean(),
    createdBy: z.string().nullable(),
    createdAt: z.string(),
    liftedAt: z.string().nullable(),
    liftedBy: z.string().nullable(),
  })
  .openapi('KillSwitch');

export const listKillSwitchesQuerySchema = z.object({
  status: z.enum(['active', 'lifted']).optional().openapi({ description: 'Default: both' }),
  scope: z.enum(KILL_SCOPES).optional(),
});

export const killSwitchIdParamSchema = pathParamSchema('id', 'ks_0123456789abcdefghij');

export type CreateKillSwitchInput = z.infer<typeof createKillSwitchSchema>;
export type KillSwitchDto = z.infer<typeof killSwitchSchema>;
export type ListKillSwitchesQuery = z.infer<typeof listKillSwitchesQuerySchema>;
