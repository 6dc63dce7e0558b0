import { z } from '@hono/zod-openapi';
import { TEAM_MEMBER_KINDS } from '../db/schema';

const name = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 _.-]*$/, 'name is letters, digits, spaces, "_", "." or "-"');

export const createTeamSchema = z
  .strictObject({ name, description: z.string().max(500).optional() })
  .openapi('CreateTeam');
export const updateTeamSchema = z
  .strictObject({ name: name.optional(), description: z.string().max(500).optional() })
  .openapi('UpdateTeam');

export const teamMemberSchema = z
  .object({ id: z.string(), kind: z.enum(TEAM_MEMBER_KINDS), ref: z.string(), createdAt: z.string() })
  .openapi('TeamMember');

export const teamSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    description: z.string(),
    members: z.array(teamMemberSchema),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Team');

/**
 * One member: exactly one of `userId` (a member of the organization), `externalUser` (an
 * X-Igris-User value) or `apiKeyId` (a key of the organization).
 */
export const addMemberSchema = z
  .strictObject({
    userId: z.string().min(1).max(64).optional(),
    externalUser: z.string().min(1).max(256).optional(),
    apiKeyId: z.string().min(1).max(64).optional(),
  })
  .refine(
    (m) => [m.userId, m.externalUser, m.apiKeyId].filter((v) => v !== undefined).length === 1,
    'give exactly one of userId, externalUser, apiKeyId',
  )
  .openapi('AddTeamMember');

export type TeamDto = z.infer<typeof teamSchema>;
export type TeamMemberDto = z.infer<typeof teamMemberSchema>;
