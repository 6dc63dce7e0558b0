/** Request and response shapes of `/api/auth/*` — validation and OpenAPI from one source. */
import { z } from '@hono/zod-openapi';
import { pathParamSchema } from '../api/api.openapi';
import { ROLES } from '../db/schema';
import { PASSWORD_MAX_BYTES } from './password.hash';

export const emailSchema = z
  .string()
  .trim()
  .max(254)
  .email()
  .transform((s) => s.toLowerCase())
  .openapi({ example: 'ada@example.com' });

/** New passwords: long enough to matter, short enough to bound the hashing work. */
export const newPasswordSchema = z
  .string()
  .min(10, 'Password must be at least 10 characters')
  .refine((s) => new TextEncoder().encode(s).length <= PASSWORD_MAX_BYTES, {
    message: `Password must be at most ${PASSWORD_MAX_BYTES} bytes`,
  });

/** Passwords being checked: any length the hasher accepts (policy applies to new ones only). */
const passwordSchema = z
  .string()
  .min(1)
  .refine((s) => new TextEncoder().encode(s).length <= PASSWORD_MAX_BYTES, { message: 'Password too long' });

const tokenSchema = z.string().min(20).max(200);
const orgNameSchema = z.string().trim().min(1).max(100);
export const orgSlugSchema = z
  .string()
  .regex(/^[a-z0-9](?:[a-z0-9-]{0,38}[a-z0-9])?$/, 'Lowercase letters, digits and dashes (1-40)');

export const signUpSchema = z
  .strictObject({
    email: emailSchema,
    password: newPasswordSchema,
    name: z.string().trim().max(100).optional(),
    /** Name of the personal organization created for the new user (default: "<name>'s organization"). */
    organizationName: orgNameSchema.optional(),
    /** Join the inviting organization instead of creating one (the invitation's email must match). */
    invitationToken: tokenSchema.optional(),
  })
  .openapi('SignUp');

export const signInSchema = z
  .strictObject({ email: emailSchema, password: passwordSchema })
  .openapi('SignIn');

export const changePasswordSchema = z
  .strictObject({ currentPassword: passwordSchema, newPassword: newPasswordSchema })
  .openapi('ChangePassword');

export const resetRequestSchema = z.strictObject({ email: emailSchema }).openapi('PasswordResetRequest');

export const resetConfirmSchema = z
  .strictObject({ token: tokenSchema, newPassword: newPasswordSchema })
  .openapi('PasswordResetConfirm');

export const createOrganizationSchema = z
  .strictObject({ name: orgNameSchema, slug: orgSlugSchema.optional() })
  .openapi('CreateOrganization');

export const switchOrganizationSchema = z.strictObject({ organizationId: z.string().min(1).max(100) });

export const orgIdParamSchema = pathParamSchema('id', undefined, 100);
export const userIdParamSchema = pathParamSchema('userId', undefined, 100);

export const createInvitationSchema = z
  .strictObject({ email: emailSchema, role: z.enum(ROLES) })
  .openapi('CreateInvitation');

export const acceptInvitationSchema = z.strictObject({ token: tokenSchema }).openapi('AcceptInvitation');

export const userSchema = z
  .object({ id: z.string(), email: z.string(), name: z.string(), emailVerified: z.boolean() })
  .openapi('User');

export const membershipSchema = z
  .object({ id: z.string(), slug: z.string(), name: z.string(), role: z.enum(ROLES) })
  .openapi('Membership');

export const sessionSchema = z
  .object({
    user: userSchema,
    activeOrganization: membershipSchema.nullable(),
    organizations: z.array(membershipSchema),
    /** Send it back as X-CSRF-Token on every state-changing request made with the cookie. */
    csrfToken: z.string(),
    /** When the session ends at the latest (sign in again after that). */
    expiresAt: z.string(),
  })
  .openapi('Session');

export const invitationSchema = z
  .object({
    id: z.string(),
    email: z.string(),
    role: z.enum(ROLES),
    invitedBy: z.string().nullable(),
    createdAt: z.string(),
    expiresAt: z.string(),
  })
  .openapi('Invitation');

export const invitationIdParamSchema = pathParamSchema('id', undefined, 100);

export type SessionDto = z.infer<typeof sessionSchema>;
export type MembershipDto = z.infer<typeof membershipSchema>;
export type InvitationDto = z.infer<typeof invitationSchema>;
