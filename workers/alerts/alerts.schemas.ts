/** Request and response shapes of the alert inbox API (single source for validation and OpenAPI). */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { ALERT_SEVERITIES, ALERT_STATUSES } from '../db/schema';

export const ALERT_TYPES = [
  'kill_switch',
  'detection',
  'drift',
  'anomaly',
  'deny_spike',
  'approval',
  'budget',
  'policy',
] as const;
export type AlertStatus = (typeof ALERT_STATUSES)[number];

export const alertSchema = z
  .object({
    id: z.string(),
    type: z.string().openapi({ description: ALERT_TYPES.join(' | ') }),
    severity: z.enum(ALERT_SEVERITIES),
    title: z.string(),
    status: z.enum(ALERT_STATUSES),
    fingerprint: z.string(),
    connectionId: z.string().nullable(),
    assignee: z.string().nullable(),
    comment: z.string().nullable(),
    count: z.number().int(),
    details: z.record(z.string(), z.unknown()),
    firstSeenAt: z.string(),
    lastSeenAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Alert');

export const alertListQuerySchema = z.object({
  status: z.enum(ALERT_STATUSES).optional(),
  type: z.enum(ALERT_TYPES).optional(),
  severity: z.enum(ALERT_SEVERITIES).optional(),
  connectionId: z.string().max(64).optional(),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
});

export const alertPageSchema = z
  .object({ alerts: z.array(alertSchema), nextCursor: z.string().nullable() })
  .openapi('AlertPage');

export const alertPatchSchema = z
  .strictObject({
    status: z.enum(ALERT_STATUSES).optional(),
    assignee: z.string().trim().min(1).max(200).nullable().optional(),
    comment: z.string().max(2000).nullable().optional(),
  })
  .openapi('AlertPatch');

export const alertBulkSchema = z
  .strictObject({ ids: z.array(z.string().max(64)).min(1).max(200), status: z.enum(ALERT_STATUSES) })
  .openapi('AlertBulk');

export const alertIdParamSchema = pathParamSchema('id', 'alt_0123456789abcdefghij');

export type AlertDto = z.infer<typeof alertSchema>;
export type AlertListQuery = z.infer<typeof alertListQuerySchema>;
export type AlertPatch = z.infer<typeof alertPatchSchema>;
