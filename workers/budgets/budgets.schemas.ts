import { z } from '@hono/zod-openapi';
import type { BUDGET_SCOPES } from '../db/schema';
import { isKnownTimezone } from '../shared/budget.period';

/** A month of LLM spend above a million dollars is a typo, not a budget. */
export const MAX_LIMIT_USD = 1_000_000;

const limitUsd = z.number().positive().max(MAX_LIMIT_USD);
const warnAtPercent = z.number().int().min(1).max(100);
const enforcement = z.enum(['block', 'warn']);
const resetDay = z.number().int().min(1).max(28);
const timezone = z
  .string()
  .min(1)
  .max(64)
  .refine(isKnownTimezone, 'timezone must be an IANA time zone, e.g. "UTC"');
const name = z.string().trim().max(100);

/**
 * `scope`: `org` (no scopeRef), `team` (a team id), `apiKey` (an API key id) or `user` (an
 * X-Igris-User value).
 */
export const createBudgetSchema = z
  .strictObject({
    name: name.optional(),
    scope: z.enum(['org', 'team', 'apiKey', 'user']),
    scopeRef: z.string().min(1).max(256).optional(),
    limitUsd,
    warnAtPercent: warnAtPercent.default(80),
    enforcement: enforcement.default('block'),
    resetDay: resetDay.default(1),
    timezone: timezone.default('UTC'),
  })
  .refine((b) => (b.scope === 'org') === (b.scopeRef === undefined), {
    message: 'scopeRef is required for team, apiKey and user budgets, and not allowed for org',
    path: ['scopeRef'],
  })
  .openapi('CreateBudget');

export const updateBudgetSchema = z
  .strictObject({
    name: name.optional(),
    limitUsd: limitUsd.optional(),
    warnAtPercent: warnAtPercent.optional(),
    enforcement: enforcement.optional(),
    resetDay: resetDay.optional(),
    timezone: timezone.optional(),
  })
  .openapi('UpdateBudget');

export const budgetStatusSchema = z
  .object({
    spentUsd: z.number(),
    reservedUsd: z.number(),
    inFlight: z.number(),
    remainingUsd: z.number(),
    percent: z.number(),
    periodStart: z.string(),
    periodEnd: z.string(),
    warned: z.boolean(),
  })
  .openapi('BudgetStatus');

export const budgetSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    scope: z.enum(['org', 'team', 'apiKey', 'user']),
    scopeRef: z.string().nullable(),
    limitUsd: z.number(),
    warnAtPercent: z.number(),
    enforcement,
    resetDay: z.number(),
    timezone: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi('Budget');

export const budgetWithStatusSchema = budgetSchema
  .extend({
    status: budgetStatusSchema.nullable(),
    history: z
      .array(
        z.object({
          periodStart: z.string(),
          periodEnd: z.string(),
          spentUsd: z.number(),
          closedBy: z.string(),
        }),
      )
      .optional(),
  })
  .openapi('BudgetWithStatus');

export type CreateBudgetInput = z.infer<typeof createBudgetSchema>;
export type UpdateBudgetInput = z.infer<typeof updateBudgetSchema>;
export type BudgetDto = z.infer<typeof budgetSchema>;
export type BudgetStatusDto = z.infer<typeof budgetStatusSchema>;

/** API names ↔ stored scope names. */
export const SCOPE_TO_DB = { org: 'org', team: 'team', apiKey: 'api_key', user: 'user' } as const;
export const SCOPE_FROM_DB = { org: 'org', team: 'team', api_key: 'apiKey', user: 'user' } as const;
export type DbScope = (typeof BUDGET_SCOPES)[number];
