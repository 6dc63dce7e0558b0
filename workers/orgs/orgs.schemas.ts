/**
 * Request and response shapes of the organization and members API — the single source for
 * validation and for the OpenAPI document.
 */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { ROLES } from '../db/schema';
import { parseStoredJson, recordOrEmpty } from '../lib/values';
import { DEFAULT_RETENTION_DAYS } from '../scheduled';

/** Organization settings as stored (organizations.settings) and returned, with their defaults. */
export const organizationSettingsSchema = z
  .object({
    /** How long audit rows are kept (workers/scheduled.ts). */
    retentionDays: z.number().int().min(1).max(3650),
    /** Default for new connections when a Durable Object the decision needs is unreachable. */
    defaultFailMode: z.enum(['closed', 'open']),
  })
  .openapi('OrganizationSettings');

export type OrganizationSettings = z.infer<typeof organizationSettingsSchema>;

export const DEFAULT_ORGANIZATION_SETTINGS: OrganizationSettings = {
  retentionDays: DEFAULT_RETENTION_DAYS,
  defaultFailMode: 'closed',
};

/**
 * Settings read back from the database: each known field that is missing or invalid falls back to
 * its default; unknown fields are kept in storage but not returned.
 */
export function readOrganizationSettings(stored: string | null | undefined): OrganizationSettings {
  const record = recordOrEmpty(parseStoredJson(stored));
  const fields = organizationSettingsSchema.shape;
  const retention = fields.retentionDays.safeParse(record.retentionDays);
  const failMode = fields.defaultFailMode.safeParse(record.defaultFailMode);
  return {
    retentionDays: retention.success ? retention.data : DEFAULT_ORGANIZATION_SETTINGS.retentionDays,
    defaultFailMode: failMode.success ? failMode.data : DEFAULT_ORGANIZATION_SETTINGS.defaultFailMode,
  };
}

export const organizationSchema = z
  .object({
    id: z.string(),
    slug: z.string(),
    name: z.string(),
    role: z.enum(ROLES).openapi({ description: "The caller's role in this organization" }),
    settings: organizationSettingsSchema,
  })
  .openapi('Organization');

export const updateOrganizationSchema = z
  .strictObject({
    name: z.string().trim().min(1).max(200).optional(),
    settings: z
      .strictObject({
        retentionDays: z
          .number()
          .int('retentionDays must be a whole number of days')
          .min(1, 'retentionDays must be at least 1')
          .max(3650, 'retentionDays must be at most 3650')
          .optional(),
        defaultFailMode: z.enum(['closed', 'open']).optional(),
      })
      .optional(),
  })
  .openapi('UpdateOrganization');

export const memberSchema = z
  .object({
    id: z.string(),
    userId: z.string(),
    email: z.string(),
    name: z.string(),
    role: z.enum(ROLES),
    createdAt: z.string(),
  })
  .openapi('Member');

export const updateMemberSchema = z.strictObject({ role: z.enum(ROLES) }).openapi('UpdateMember');

export const memberIdParamSchema = pathParamSchema('id', 'mem_0123456789abcdefghij');

export type OrganizationDto = z.infer<typeof organizationSchema>;
export type UpdateOrganizationInput = z.infer<typeof updateOrganizationSchema>;
export type MemberDto = z.infer<typeof memberSchema>;
