import { z } from '@hono/zod-openapi';
import { PROMPT_VARIABLES, unknownVariables } from './prompt.template';

/** Governed prompts are short policy text, not documents. */
export const MAX_PROMPT_CHARS = 20_000;

const text = z
  .string()
  .min(1)
  .max(MAX_PROMPT_CHARS)
  .superRefine((value, ctx) => {
    const unknown = unknownVariables(value);
    if (unknown.length > 0) {
      ctx.addIssue({
        code: 'custom',
        message: `unknown template variable(s) ${unknown.map((v) => `{{${v}}}`).join(', ')}; known: ${PROMPT_VARIABLES.map((v) => `{{${v}}}`).join(', ')}`,
      });
    }
  });
const name = z.string().trim().min(1).max(100);

export const createPromptSchema = z.strictObject({ name, text }).openapi('CreateSystemPrompt');
export const updatePromptSchema = z
  .strictObject({ name: name.optional(), text: text.optional() })
  .openapi('UpdateSystemPrompt');

export const assignmentInputSchema = z
  .strictObject({
    target: z.enum(['connection', 'team']),
    targetId: z.string().min(1).max(64),
    priority: z.number().int().min(-1000).max(1000).default(0),
    mode: z.enum(['prepend', 'replace']).default('prepend'),
  })
  .openapi('SystemPromptAssignmentInput');

export const assignmentSchema = z
  .object({
    id: z.string(),
    target: z.enum(['connection', 'team']),
    targetId: z.string(),
    priority: z.number(),
    mode: z.enum(['prepend', 'replace']),
  })
  .openapi('SystemPromptAssignment');

export const promptSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    version: z.number(),
    text: z.string(),
    sha256: z.string(),
    assignments: z.array(assignmentSchema),
    versions: z
      .array(
        z.object({
          version: z.number(),
          sha256: z.string(),
          createdBy: z.string().nullable(),
          createdAt: z.string(),
        }),
      )
      .optional(),
    createdAt: z.string(),
    updatedAt: z.string(),
    /** The member who created it (its first version's author: a user id; null for a system key's). */
    createdBy: z.string().nullable(),
    /**
     * Whether the caller may rename, edit or delete it now: judged by the same code as those changes
     * (prompts.access.ts) — a developer only their own, assigned to nothing but their own connections.
     */
    canEdit: z.boolean(),
  })
  .openapi('SystemPrompt');

export const previewSchema = z
  .strictObject({
    text,
    user: z.string().max(256).optional(),
    team: z.string().max(64).optional(),
    connection: z.string().max(64).optional(),
  })
  .openapi('SystemPromptPreview');

export type PromptDto = z.infer<typeof promptSchema>;
export type AssignmentInput = z.infer<typeof assignmentInputSchema>;
