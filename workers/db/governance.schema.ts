/**
 * LLM prices, teams, budgets, governed system prompts (docs/budgets-and-prompts.md) and approvals bound to one exact call (docs/policies.md#approvals).
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';
import { connections, organizations } from './core.schema';

// ---------------------------------------------------------------------------------------------
// Migration 0002: LLM gateway.
// ---------------------------------------------------------------------------------------------

/**
 * An organization's own prices (USD per 1M tokens), overriding the built-in table
 * (workers/llm/llm.prices.json) for one provider and model. `PUT /api/v1/llm/prices`.
 */
export const llmPrices = sqliteTable(
  'llm_prices',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    provider: text('provider').notNull(),
    model: text('model').notNull(),
    inputPerMTok: real('input_per_mtok').notNull(),
    cachedInputPerMTok: real('cached_input_per_mtok'),
    outputPerMTok: real('output_per_mtok').notNull(),
    updatedBy: text('updated_by'),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('llm_prices_org_model').on(t.orgId, t.provider, t.model)],
);

export type LlmPriceRow = typeof llmPrices.$inferSelect;

// ---------------------------------------------------------------------------------------------
// Teams, budgets and system-prompt governance (issue 15; docs/budgets-and-prompts.md).
// ---------------------------------------------------------------------------------------------

/** A group of people and API keys in an organization; usable in policy conditions (`team`). */
export const teams = sqliteTable(
  'teams',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    description: text('description').notNull().default(''),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('teams_org_name').on(t.orgId, t.name)],
);

/** `user`: a member's user id; `external_user`: an X-Igris-User value; `api_key`: an API key id. */
export const TEAM_MEMBER_KINDS = ['user', 'external_user', 'api_key'] as const;
export type TeamMemberKind = (typeof TEAM_MEMBER_KINDS)[number];

export const teamMembers = sqliteTable(
  'team_members',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    teamId: text('team_id')
      .notNull()
      .references(() => teams.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: TEAM_MEMBER_KINDS }).notNull(),
    ref: text('ref').notNull(),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('team_members_unique').on(t.teamId, t.kind, t.ref),
    index('team_members_org').on(t.orgId),
  ],
);

export const BUDGET_SCOPES = ['org', 'team', 'api_key', 'user'] as const;
export type BudgetScope = (typeof BUDGET_SCOPES)[number];

/** A monthly USD limit on a scope; its counters live in a BudgetCounter Durable Object. */
export const budgets = sqliteTable(
  'budgets',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull().default(''),
    scope: text('scope', { enum: BUDGET_SCOPES }).notNull(),
    /** Team id, API key id or X-Igris-User value; null for `org`. */
    scopeRef: text('scope_ref'),
    limitUsd: real('limit_usd').notNull(),
    warnAtPercent: integer('warn_at_percent', { mode: 'number' }).notNull().default(80),
    enforcement: text('enforcement', { enum: ['block', 'warn'] })
      .notNull()
      .default('block'),
    resetDay: integer('reset_day', { mode: 'number' }).notNull().default(1),
    timezone: text('timezone').notNull().default('UTC'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('budgets_org').on(t.orgId)],
);

export const systemPrompts = sqliteTable(
  'system_prompts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The current version (system_prompt_versions); every edit adds one. */
    version: integer('version', { mode: 'number' }).notNull(),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('system_prompts_org_name').on(t.orgId, t.name)],
);

export const systemPromptVersions = sqliteTable(
  'system_prompt_versions',
  {
    promptId: text('prompt_id')
      .notNull()
      .references(() => systemPrompts.id, { onDelete: 'cascade' }),
    orgId: text('org_id').notNull(),
    version: integer('version', { mode: 'number' }).notNull(),
    text: text('text').notNull(),
    /** SHA-256 (hex) of the template: what audit rows record instead of the text. */
    textHash: text('text_hash').notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('system_prompt_versions_pk').on(t.promptId, t.version)],
);

/** Where a prompt applies: an LLM connection or a team, with a priority and a mode. */
export const systemPromptAssignments = sqliteTable(
  'system_prompt_assignments',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    promptId: text('prompt_id')
      .notNull()
      .references(() => systemPrompts.id, { onDelete: 'cascade' }),
    target: text('target', { enum: ['connection', 'team'] }).notNull(),
    targetId: text('target_id').notNull(),
    priority: integer('priority', { mode: 'number' }).notNull().default(0),
    mode: text('mode', { enum: ['prepend', 'replace'] })
      .notNull()
      .default('prepend'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('system_prompt_assignments_unique').on(t.promptId, t.target, t.targetId),
    index('system_prompt_assignments_org').on(t.orgId),
  ],
);

// Approvals bound to one exact call (issue 22, docs/policies.md#approvals): a call whose rule says
// `action: "approve"` is held and one row is written here; an approver's decision lets the
// identical call (same caller, connection, tool and argument hash) through exactly once.
export const APPROVAL_STATUSES = ['pending', 'approved', 'denied', 'used', 'expired'] as const;
export type ApprovalStatus = (typeof APPROVAL_STATUSES)[number];

export const approvals = sqliteTable(
  'approvals',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    connectionSlug: text('connection_slug').notNull(),
    /** mcp | llm | a2a */
    protocol: text('protocol').notNull(),
    /** The caller: its API key (null for an OAuth token), its member, and X-Igris-User. */
    apiKeyId: text('api_key_id'),
    userId: text('user_id'),
    caller: text('caller'),
    /** The governed name (tool, `resource:…`, model, skill). */
    tool: text('tool').notNull(),
    /** SHA-256 (hex) of the canonical JSON of the call's arguments. */
    argsHash: text('args_hash').notNull(),
    /** SHA-256 of (connection, caller, tool, argsHash): what a retry must match. */
    binding: text('binding').notNull(),
    /** The arguments the approver is shown (JSON, at most 16 KiB; null when larger: see argsHash). */
    args: text('args', { mode: 'json' }),
    ruleIndex: integer('rule_index'),
    reason: text('reason'),
    /** Session taint: the labels of a call held under `onTaint: "approve"` (JSON list; null otherwise). */
    taint: text('taint', { mode: 'json' }),
    status: text('status', { enum: APPROVAL_STATUSES }).notNull().default('pending'),
    traceId: text('trace_id'),
    requestedAt: integer('requested_at', { mode: 'number' }).notNull(),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
    /** `user:<id>` or `key:<id>` of the approver. */
    decidedBy: text('decided_by'),
    decidedAt: integer('decided_at', { mode: 'number' }),
    comment: text('comment'),
    usedAt: integer('used_at', { mode: 'number' }),
  },
  (t) => [
    // One pending approval per identical call: repeats reuse it.
    uniqueIndex('approvals_pending_binding').on(t.orgId, t.binding).where(sql`status = 'pending'`),
    index('approvals_org_binding').on(t.orgId, t.binding, t.status),
    index('approvals_org_requested').on(t.orgId, t.requestedAt),
    // The pending caps (approval.store.ts pendingApproval): what a new hold counts, read from the index alone.
    index('approvals_pending_org').on(t.orgId, t.expiresAt).where(sql`status = 'pending'`),
    index('approvals_pending_caller')
      .on(t.connectionId, t.apiKeyId, t.userId, t.expiresAt)
      .where(sql`status = 'pending'`),
  ],
);
export type ApprovalRow = typeof approvals.$inferSelect;
