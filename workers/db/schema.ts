/**
 * The D1 schema — the single source for every table. `npm run db:generate` (drizzle-kit) writes
 * the SQL migrations in `migrations/` from this file; an applied migration is never edited.
 *
 * Every tenant-owned table carries `org_id`, and every query in the code filters on it
 * (services take the caller's Principal and bind `principal.orgId`): that column is what tenant
 * isolation rests on, and test/workerd/tenancy.test.ts checks it for every resource.
 */
import { sql } from 'drizzle-orm';
import { index, integer, primaryKey, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';

const createdAt = () =>
  integer('created_at', { mode: 'number' }).notNull().default(sql`(unixepoch('subsec') * 1000)`);

export const organizations = sqliteTable('organizations', {
  id: text('id').primaryKey(),
  slug: text('slug').notNull().unique(),
  name: text('name').notNull(),
  /** JSON: retention days, fail-open/closed defaults, anomaly settings. Validated by organizationSettingsSchema. */
  settings: text('settings', { mode: 'json' }).notNull().default('{}'),
  /**
   * Bumped by every management change (workers/config/config.epoch.ts). Isolates tag what they
   * cache with it; a guard that knows a newer one refuses a call decided on older data as `stale`.
   */
  configEpoch: integer('config_epoch').notNull().default(0),
  createdAt: createdAt(),
});

export const users = sqliteTable('users', {
  id: text('id').primaryKey(),
  email: text('email').notNull().unique(),
  name: text('name').notNull().default(''),
  emailVerified: integer('email_verified', { mode: 'boolean' }).notNull().default(false),
  /** PBKDF2 hash (`pbkdf2-sha256$<iterations>$<salt>$<hash>`); null for OAuth-only or system users. */
  passwordHash: text('password_hash'),
  createdAt: createdAt(),
});

export const ROLES = ['owner', 'admin', 'developer', 'auditor'] as const;
export type Role = (typeof ROLES)[number];

export const members = sqliteTable(
  'members',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    role: text('role', { enum: ROLES }).notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('members_org_user').on(t.orgId, t.userId), index('members_user').on(t.userId)],
);

export const apiKeys = sqliteTable(
  'api_keys',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The member who created the key: the key acts with at most that member's role. */
    createdBy: text('created_by').references(() => users.id, { onDelete: 'set null' }),
    name: text('name').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    /** First characters of the key, shown in listings so people can tell keys apart. */
    prefix: text('prefix').notNull(),
    /** Hex SHA-256 of the whole key; the key itself is never stored. */
    hash: text('hash').notNull().unique(),
    lastUsedAt: integer('last_used_at', { mode: 'number' }),
    revokedAt: integer('revoked_at', { mode: 'number' }),
    createdAt: createdAt(),
  },
  (t) => [index('api_keys_org').on(t.orgId)],
);

export const CONNECTION_TYPES = ['mcp', 'llm', 'a2a'] as const;
/**
 * 'query' injects the credential as a query parameter; its name is kept in auth_header_name (the
 * column names where the credential goes: a header for 'header', a parameter for 'query'). A TS
 * enum only: SQLite has no CHECK on auth_type, so adding a value needs no migration.
 */
export const AUTH_TYPES = ['bearer', 'header', 'query', 'none'] as const;

export const connections = sqliteTable(
  'connections',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    slug: text('slug').notNull(),
    name: text('name').notNull(),
    type: text('type', { enum: CONNECTION_TYPES }).notNull().default('mcp'),
    upstreamUrl: text('upstream_url').notNull(),
    authType: text('auth_type', { enum: AUTH_TYPES }).notNull().default('bearer'),
    authHeaderName: text('auth_header_name'),
    /** AES-256-GCM envelope (workers/vault/vault.crypto.ts), bound to org and connection id. */
    credentialCiphertext: text('credential_ciphertext'),
    enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
    /** JSON: maxBodyBytes, failMode, anomaly settings, allowed origins. Validated by connectionSettingsSchema. */
    settings: text('settings', { mode: 'json' }).notNull().default('{}'),
    createdBy: text('created_by'),
    lastUsedAt: integer('last_used_at', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull().default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [uniqueIndex('connections_org_slug').on(t.orgId, t.slug)],
);

export const policies = sqliteTable(
  'policies',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** 1, 2, 3 … per connection; every PUT (and rollback) creates the next version. */
    version: integer('version').notNull(),
    rules: text('rules', { mode: 'json' }).notNull(),
    createdBy: text('created_by'),
    /** Set when this version was created by rolling back to an earlier one. */
    rolledBackFrom: integer('rolled_back_from'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('policies_connection_version').on(t.connectionId, t.version),
    index('policies_org').on(t.orgId),
  ],
);

export const SESSION_STATUSES = ['active', 'suspended'] as const;

export const agentSessions = sqliteTable(
  'agent_sessions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    status: text('status', { enum: SESSION_STATUSES }).notNull().default('active'),
    suspendedReason: text('suspended_reason'),
    mcpSessionId: text('mcp_session_id'),
    apiKeyId: text('api_key_id'),
    user: text('user'),
    callCount: integer('call_count').notNull().default(0),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull().default(sql`(unixepoch('subsec') * 1000)`),
  },
  (t) => [uniqueIndex('agent_sessions_org_connection').on(t.orgId, t.connectionId)],
);

export const AUDIT_TYPES = [
  'tool_call',
  'llm_call',
  'a2a_call',
  'request',
  'admin',
  'anomaly',
  'session',
  'auth',
] as const;

export const auditEvents = sqliteTable(
  'audit_events',
  {
    /** Event id, generated by the gateway before anything is written: inserts are idempotent on it. */
    id: text('id').primaryKey(),
    /** Null only for refusals that could not be tied to an organization (no key, unknown key). */
    orgId: text('org_id'),
    type: text('type', { enum: AUDIT_TYPES }).notNull(),
    connectionId: text('connection_id'),
    connectionSlug: text('connection_slug'),
    sessionId: text('session_id'),
    mcpSessionId: text('mcp_session_id'),
    apiKeyId: text('api_key_id'),
    /** For admin rows: who acted (`user:<id>` or `key:<id>`). */
    actor: text('actor'),
    user: text('user'),
    traceId: text('trace_id'),
    metadata: text('metadata', { mode: 'json' }),
    metadataError: text('metadata_error'),
    method: text('method'),
    tool: text('tool'),
    /** allow | deny | alert | error | killed | rate_limited … or, for admin rows, the verb. */
    action: text('action').notNull(),
    ruleIndex: integer('rule_index'),
    policyVersion: integer('policy_version'),
    upstreamStatus: integer('upstream_status'),
    latencyMs: integer('latency_ms'),
    errorCode: text('error_code'),
    /** JSON: admin change summaries, anomaly figures, detection findings. Never secret values. */
    details: text('details', { mode: 'json' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    // Migration 0002 — LLM calls: the model asked for, tokens from the provider's usage report
    // (input includes cached input), and the cost priced server-side (null: unknown model, never guessed).
    model: text('model'),
    inputTokens: integer('input_tokens'),
    cachedInputTokens: integer('cached_input_tokens'),
    outputTokens: integer('output_tokens'),
    reasoningTokens: integer('reasoning_tokens'),
    costUsd: real('cost_usd'),
  },
  (t) => [
    index('audit_org_time').on(t.orgId, t.createdAt),
    index('audit_org_trace').on(t.orgId, t.traceId),
    index('audit_org_connection_time').on(t.orgId, t.connectionId, t.createdAt),
  ],
);

export type Organization = typeof organizations.$inferSelect;
export type User = typeof users.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;
export type ConnectionRow = typeof connections.$inferSelect;
export type PolicyRow = typeof policies.$inferSelect;
export type AgentSessionRow = typeof agentSessions.$inferSelect;
export type AuditEventRow = typeof auditEvents.$inferSelect;
export type AuditEventInsert = typeof auditEvents.$inferInsert;

// ---------------------------------------------------------------------------------------------
// Migration 0001: kill switches and human sign-in.
// ---------------------------------------------------------------------------------------------

export const KILL_SCOPES = ['organization', 'connection', 'user', 'apiKey', 'session'] as const;

/**
 * The record of every kill switch. The switch itself takes effect through the ConnectionGuard
 * Durable Objects (pushed to them when it is created or lifted); this table is what a guard
 * reloads after a restart and what the API lists.
 */
export const killSwitches = sqliteTable(
  'kill_switches',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    scope: text('scope', { enum: KILL_SCOPES }).notNull(),
    /** Organization id, connection id, user (X-Igris-User value), API key id, or agent session id. */
    target: text('target').notNull(),
    reason: text('reason'),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    liftedAt: integer('lifted_at', { mode: 'number' }),
    liftedBy: text('lifted_by'),
  },
  (t) => [index('kill_switches_org_active').on(t.orgId, t.liftedAt)],
);

/** Server-side records behind `igris.session_token` cookies: deleting/revoking one signs out at once. */
export const authSessions = sqliteTable(
  'auth_sessions',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    /** The organization the session acts in (switchable). */
    orgId: text('org_id').references(() => organizations.id, { onDelete: 'set null' }),
    /** SHA-256 of the CSRF token bound to this session. */
    csrfHash: text('csrf_hash').notNull(),
    userAgent: text('user_agent'),
    ip: text('ip'),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }),
    revokedAt: integer('revoked_at', { mode: 'number' }),
  },
  (t) => [index('auth_sessions_user').on(t.userId)],
);

export const OAUTH_PROVIDERS = ['github', 'google'] as const;

export const oauthAccounts = sqliteTable(
  'oauth_accounts',
  {
    id: text('id').primaryKey(),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    provider: text('provider', { enum: OAUTH_PROVIDERS }).notNull(),
    providerAccountId: text('provider_account_id').notNull(),
    email: text('email'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('oauth_accounts_provider_account').on(t.provider, t.providerAccountId),
    index('oauth_accounts_user').on(t.userId),
  ],
);

/** Pending OAuth authorizations: `state` → PKCE verifier. Single use, short-lived. */
export const oauthStates = sqliteTable('oauth_states', {
  state: text('state').primaryKey(),
  provider: text('provider', { enum: OAUTH_PROVIDERS }).notNull(),
  codeVerifier: text('code_verifier').notNull(),
  redirectTo: text('redirect_to'),
  createdAt: createdAt(),
  expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
});

export const invitations = sqliteTable(
  'invitations',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    email: text('email').notNull(),
    role: text('role', { enum: ROLES }).notNull(),
    /** SHA-256 of the emailed token; the token itself is never stored. */
    tokenHash: text('token_hash').notNull().unique(),
    invitedBy: text('invited_by'),
    createdAt: createdAt(),
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
    acceptedAt: integer('accepted_at', { mode: 'number' }),
    revokedAt: integer('revoked_at', { mode: 'number' }),
  },
  (t) => [index('invitations_org').on(t.orgId)],
);

export const passwordResets = sqliteTable('password_resets', {
  id: text('id').primaryKey(),
  userId: text('user_id')
    .notNull()
    .references(() => users.id, { onDelete: 'cascade' }),
  tokenHash: text('token_hash').notNull().unique(),
  createdAt: createdAt(),
  expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
  usedAt: integer('used_at', { mode: 'number' }),
});

/** The development email sender's outbox (see workers/email): tests and `npm start` read mail here. */
export const emailOutbox = sqliteTable('email_outbox', {
  id: text('id').primaryKey(),
  to: text('to').notNull(),
  subject: text('subject').notNull(),
  body: text('body').notNull(),
  createdAt: createdAt(),
});

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

// ---------------------------------------------------------------------------------------------
// Tool integrity (issue 17): fingerprints, drift history, approvals and quarantine per connection.
// Written off the hot path by workers/integrity/integrity.record.ts and by the API; what the
// gateway needs per call is published to KV (`integrity:<org>:<connection>`, integrity.state.ts).
// ---------------------------------------------------------------------------------------------

/** What a list answer lists: `tools/list` tools, `prompts/list` prompts, `resources/list` resources. */
export const INTEGRITY_KINDS = ['tool', 'prompt', 'resource'] as const;
export const DRIFT_SEVERITIES = ['critical', 'warning', 'info'] as const;

/** The current state of every item a connection's upstream ever listed: one row per (kind, name). */
export const toolInventory = sqliteTable(
  'tool_inventory',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: INTEGRITY_KINDS }).notNull(),
    /** The tool or prompt name, or the resource URI, as the upstream listed it. */
    name: text('name').notNull(),
    /** SHA-256 (hex) of the canonical definition; null once the item was removed. */
    fingerprint: text('fingerprint'),
    /** 1 at first sight, +1 at every change (including removal). */
    version: integer('version').notNull(),
    /** The canonical definition last seen (description, schemas, annotations). */
    definition: text('definition', { mode: 'json' }),
    removed: integer('removed', { mode: 'boolean' }).notNull().default(false),
    /** Refused and hidden until re-approved (set by critical drift with quarantineOnCritical, or by hand). */
    quarantined: integer('quarantined', { mode: 'boolean' }).notNull().default(false),
    quarantineReason: text('quarantine_reason'),
    /** The fingerprint an owner/admin approved (the pinned baseline); null = never approved. */
    approvedFingerprint: text('approved_fingerprint'),
    approvedBy: text('approved_by'),
    approvedAt: integer('approved_at', { mode: 'number' }),
    /** The poisoning/shadowing scan's findings on the current definition (integrity.scan.ts). */
    findings: text('findings', { mode: 'json' }),
    firstSeen: integer('first_seen', { mode: 'number' }).notNull(),
    lastSeen: integer('last_seen', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('tool_inventory_item').on(t.connectionId, t.kind, t.name),
    index('tool_inventory_org').on(t.orgId, t.connectionId),
  ],
);

/**
 * Every version of every item, with the classified changes from the version before. The unique
 * (connection, kind, name, version) makes recording idempotent across isolates: of two gateways
 * that saw the same change at once, one insert wins and only the winner writes the audit row
 * and publishes the `tool_drift` event.
 */
export const toolVersions = sqliteTable(
  'tool_versions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    kind: text('kind', { enum: INTEGRITY_KINDS }).notNull(),
    name: text('name').notNull(),
    version: integer('version').notNull(),
    /** Null for a removal. */
    fingerprint: text('fingerprint'),
    definition: text('definition', { mode: 'json' }),
    /** The highest severity of `changes`. */
    severity: text('severity', { enum: DRIFT_SEVERITIES }).notNull(),
    /** JSON: the classified changes (integrity.classify.ts) and scan findings. */
    changes: text('changes', { mode: 'json' }).notNull(),
    seenAt: integer('seen_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('tool_versions_item_version').on(t.connectionId, t.kind, t.name, t.version),
    index('tool_versions_org').on(t.orgId, t.connectionId, t.seenAt),
  ],
);

export type ToolInventoryRow = typeof toolInventory.$inferSelect;
export type ToolVersionRow = typeof toolVersions.$inferSelect;

// A2A agents (issue 21): the AgentCard of each `type: "a2a"` connection, as fetched from its URL
// (or pasted), one row per connection. The gateway serves it rewritten at
// /v1/a2a/<slug>/.well-known/agent-card.json; a refresh that changes it writes an admin audit row.
export const a2aAgentCards = sqliteTable(
  'a2a_agent_cards',
  {
    connectionId: text('connection_id')
      .primaryKey()
      .references(() => connections.id, { onDelete: 'cascade' }),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Where the card is fetched from on refresh; null for a pasted card. */
    cardUrl: text('card_url'),
    /** The agent's card as received (JSON), validated by a2a.card.ts. */
    card: text('card', { mode: 'json' }).notNull(),
    /** SHA-256 (hex) of the card's canonical JSON: a refresh that changes nothing writes nothing. */
    cardHash: text('card_hash').notNull(),
    fetchedAt: integer('fetched_at', { mode: 'number' }).notNull(),
    /**
     * Set by the scheduled refresh when the fetched card moves the endpoint to another origin (it
     * needs the new host's credential, which only an admin can give): the schedule skips the card
     * until an accepted card (an admin's refresh or paste) clears it (workers/a2a/a2a.refresh.ts).
     */
    refreshHeldAt: integer('refresh_held_at', { mode: 'number' }),
  },
  (t) => [index('a2a_agent_cards_org').on(t.orgId)],
);
export type A2aAgentCardRow = typeof a2aAgentCards.$inferSelect;

// Observability (issue 19): scraper tokens for GET /api/v1/metrics/prometheus, and the audit hash
// chain (docs/observability.md).

/**
 * A bearer token that may read its organization's metrics and nothing else (`igm_…`). Only its
 * SHA-256 is stored, like an API key's.
 */
export const metricsTokens = sqliteTable(
  'metrics_tokens',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    prefix: text('prefix').notNull(),
    hash: text('hash').notNull().unique(),
    createdBy: text('created_by'),
    revokedAt: integer('revoked_at', { mode: 'number' }),
    createdAt: createdAt(),
  },
  (t) => [index('metrics_tokens_org').on(t.orgId)],
);
export type MetricsTokenRow = typeof metricsTokens.$inferSelect;

/**
 * The tamper-evident audit trail: one link per write of an audit row by a spool, in the order the
 * spool wrote them. `hash = SHA-256(prev_hash | seq | event_id | row_hash)`, `row_hash` the SHA-256
 * of the row as written (durable-objects/audit.chain.ts). Written in the same D1 batch as the row.
 */
export const auditChain = sqliteTable(
  'audit_chain',
  {
    /** The spool that wrote it (`ConnectionGuard:<org>:<connection>`, `AuditSpool:<org>:<shard>`). */
    chain: text('chain').notNull(),
    seq: integer('seq').notNull(),
    orgId: text('org_id'),
    eventId: text('event_id').notNull(),
    rowHash: text('row_hash').notNull(),
    prevHash: text('prev_hash').notNull(),
    hash: text('hash').notNull(),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.chain, t.seq] }),
    index('audit_chain_org').on(t.orgId, t.chain, t.seq),
    index('audit_chain_event').on(t.eventId),
  ],
);

// Content inspection (issue 16): an organization's custom detection rules and packs
// (docs/detections.md). Each is stored as its validated JSON (workers/inspection/inspection.schema.ts);
// the gateway compiles them with the built-in rules when a connection's packs name them.

/** A custom detection rule; `ruleId` is the rule's own dotted id, unique in its organization. */
export const detectionRules = sqliteTable(
  'detection_rules',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    ruleId: text('rule_id').notNull(),
    /** The rule as validated by validateCustomRule (JSON). */
    rule: text('rule', { mode: 'json' }).notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('detection_rules_org_rule').on(t.orgId, t.ruleId)],
);
export type DetectionRuleRow = typeof detectionRules.$inferSelect;

/** A custom detection pack; `name` is unique in its organization and may not shadow a built-in pack. */
export const detectionPacks = sqliteTable(
  'detection_packs',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    /** The pack as validated by packSchema (JSON). */
    pack: text('pack', { mode: 'json' }).notNull(),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [uniqueIndex('detection_packs_org_name').on(t.orgId, t.name)],
);
export type DetectionPackRow = typeof detectionPacks.$inferSelect;

// Alert inbox (issue 19): alerts raised by the guards' rules (durable-objects/alert.rules.ts),
// deduplicated by fingerprint while open or acknowledged (docs/observability.md).
export const ALERT_STATUSES = ['open', 'acknowledged', 'resolved', 'dismissed'] as const;
export const ALERT_SEVERITIES = ['critical', 'high', 'medium', 'low', 'info'] as const;

export const alerts = sqliteTable(
  'alerts',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Same fingerprint while open/acknowledged = the same alert seen again (`count` grows). */
    fingerprint: text('fingerprint').notNull(),
    /** anomaly | kill_switch | detection | drift | deny_spike */
    type: text('type').notNull(),
    severity: text('severity', { enum: ALERT_SEVERITIES }).notNull(),
    title: text('title').notNull(),
    status: text('status', { enum: ALERT_STATUSES }).notNull().default('open'),
    connectionId: text('connection_id'),
    assignee: text('assignee'),
    comment: text('comment'),
    count: integer('count').notNull().default(1),
    /** JSON: what raised it (ids, figures, rule) — never content or secrets. */
    details: text('details', { mode: 'json' }),
    firstSeenAt: integer('first_seen_at', { mode: 'number' }).notNull(),
    lastSeenAt: integer('last_seen_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    uniqueIndex('alerts_active_fingerprint')
      .on(t.orgId, t.fingerprint)
      .where(sql`status IN ('open', 'acknowledged')`),
    index('alerts_org_seen').on(t.orgId, t.lastSeenAt),
  ],
);
export type AlertRow = typeof alerts.$inferSelect;

// MCP scanner (issue 17, docs/tool-integrity.md#mcp-scanner): one row per scan of a connection's
// upstream — what the server said about itself, and the findings (JSON, never a credential).
export const SCAN_STATUSES = ['completed', 'failed'] as const;

export const scans = sqliteTable(
  'scans',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Null for a scan of a bare URL (not a connection). */
    connectionId: text('connection_id').references(() => connections.id, { onDelete: 'cascade' }),
    connectionSlug: text('connection_slug'),
    /** The scanned URL of a bare-URL scan (a connection's scan names its connection instead). */
    targetUrl: text('target_url'),
    createdBy: text('created_by'),
    status: text('status', { enum: SCAN_STATUSES }).notNull(),
    /** JSON: serverInfo, protocolVersion, item counts. */
    server: text('server', { mode: 'json' }),
    /** JSON array of findings (kind, severity, item, path, match, message). */
    findings: text('findings', { mode: 'json' }).notNull(),
    /** Why a failed scan failed (an error code; never the upstream's text). */
    error: text('error'),
    createdAt: createdAt(),
  },
  (t) => [index('scans_org_connection').on(t.orgId, t.connectionId, t.createdAt)],
);
export type ScanRow = typeof scans.$inferSelect;

// Notification channels (issue 19, docs/observability.md#notification-channels): where an
// organization's alerts are sent (webhook, Slack, SIEM), and one delivery row per (event, channel)
// — its retries, and the dead-letter list that can be replayed (workers/notify/).
export const NOTIFY_CHANNEL_TYPES = ['webhook', 'slack', 'siem'] as const;
/** How a SIEM channel writes an event: NDJSON, CEF lines, Splunk HEC events, Elastic bulk (ECS). */
export const SIEM_FORMATS = ['ndjson', 'cef', 'splunk_hec', 'elastic_bulk'] as const;
export const DELIVERY_STATUSES = ['pending', 'delivered', 'dead'] as const;

export const notifyChannels = sqliteTable(
  'notify_channels',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    name: text('name').notNull(),
    type: text('type', { enum: NOTIFY_CHANNEL_TYPES }).notNull(),
    /** SIEM channels only. */
    format: text('format', { enum: SIEM_FORMATS }),
    /** What may be shown: the URL of a webhook/SIEM channel; only the origin of a Slack webhook (its path is the secret). */
    displayUrl: text('display_url').notNull(),
    /** Vault envelope of JSON `{url, secret?, token?}` (AAD `<org>:<channel>:notify`); never returned. */
    secretCiphertext: text('secret_ciphertext').notNull(),
    /** Routing: events below this severity are not sent. */
    minSeverity: text('min_severity', { enum: ALERT_SEVERITIES }).notNull().default('info'),
    /** JSON array of event types (alert types, `budget`, `approval_requested`); null = every type. */
    eventTypes: text('event_types', { mode: 'json' }),
    enabled: integer('enabled').notNull().default(1),
    createdBy: text('created_by'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('notify_channels_org').on(t.orgId)],
);
export type NotifyChannelRow = typeof notifyChannels.$inferSelect;

export const notifyDeliveries = sqliteTable(
  'notify_deliveries',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    channelId: text('channel_id')
      .notNull()
      .references(() => notifyChannels.id, { onDelete: 'cascade' }),
    eventType: text('event_type').notNull(),
    alertId: text('alert_id'),
    /** JSON: the event as routed (the alert's fields at that time) — never content or secrets. */
    payload: text('payload', { mode: 'json' }).notNull(),
    status: text('status', { enum: DELIVERY_STATUSES }).notNull().default('pending'),
    attempts: integer('attempts').notNull().default(0),
    /** Why the last attempt failed (`http_500`, `timeout`, `network`, `redirect`, `url_refused`). */
    lastError: text('last_error'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
    deliveredAt: integer('delivered_at', { mode: 'number' }),
  },
  (t) => [index('notify_deliveries_org_status').on(t.orgId, t.status, t.createdAt)],
);
export type NotifyDeliveryRow = typeof notifyDeliveries.$inferSelect;

// A2A task tracking (issue 21, docs/a2a.md#tasks): the tasks agents reported through the gateway,
// one row per (connection, task id) with its latest state, and one event row per state change or
// message seen. Written off the hot path (waitUntil, workers/a2a/a2a.tasks.ts), never read by it.
export const A2A_TASK_EVENT_KINDS = ['request', 'state', 'message', 'artifact'] as const;

export const a2aTasks = sqliteTable(
  'a2a_tasks',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** The agent's task id (capped at 200 characters). */
    taskId: text('task_id').notNull(),
    contextId: text('context_id'),
    /** The latest state the agent reported: submitted, working, input-required, completed, failed, canceled… */
    state: text('state').notNull(),
    /** The skill the call that created the task named (metadata.skillId), when it named one. */
    skill: text('skill'),
    apiKeyId: text('api_key_id'),
    user: text('user'),
    /** Trace ids of the first and the latest call that reported on the task (audit rows by trace). */
    firstTraceId: text('first_trace_id'),
    lastTraceId: text('last_trace_id'),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.taskId] }),
    index('a2a_tasks_org_updated').on(t.orgId, t.connectionId, t.updatedAt),
  ],
);
export type A2aTaskRow = typeof a2aTasks.$inferSelect;

export const a2aTaskEvents = sqliteTable(
  'a2a_task_events',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    taskId: text('task_id').notNull(),
    kind: text('kind', { enum: A2A_TASK_EVENT_KINDS }).notNull(),
    /** For `state`: the state reported. */
    state: text('state'),
    /** The call's trace id (its audit row is found by it) and JSON-RPC method. */
    traceId: text('trace_id'),
    method: text('method'),
    /**
     * JSON: the message's metadata (messageId, role, parts' kinds, media types and sizes, its
     * metadata object); the parts' content only when the connection's `logContent` is on.
     */
    detail: text('detail', { mode: 'json' }),
    createdAt: integer('created_at', { mode: 'number' }).notNull(),
  },
  (t) => [index('a2a_task_events_task').on(t.connectionId, t.taskId, t.createdAt)],
);
export type A2aTaskEventRow = typeof a2aTaskEvents.$inferSelect;

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

// Scan suppressions (issue 17, docs/tool-integrity.md#suppressions): an owner/admin accepts one
// finding of a connection's scans, with a reason and an optional expiry. The finding is matched by
// its fingerprint (kind, item, path, match): when it changes, it is reported again.
export const scanSuppressions = sqliteTable(
  'scan_suppressions',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    /** SHA-256 (hex) of the finding's kind, item, path and match (scans.suppress.ts). */
    fingerprint: text('fingerprint').notNull(),
    kind: text('kind').notNull(),
    item: text('item').notNull(),
    reason: text('reason').notNull(),
    /** Null: until deleted. */
    expiresAt: integer('expires_at', { mode: 'number' }),
    createdBy: text('created_by').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('scan_suppressions_finding').on(t.connectionId, t.fingerprint)],
);
export type ScanSuppressionRow = typeof scanSuppressions.$inferSelect;

// OAuth upstream mode (issue 18, docs/oauth.md#upstream-mode): each member's own tokens to a
// connection's upstream authorization server, linked once by the member and sent instead of a
// shared credential. Both tokens are vault envelopes (AES-256-GCM, AAD
// `upstream-oauth:<orgId>:<connectionId>:<userId>`, so a row copied elsewhere does not decrypt);
// they are never returned by any API.
export const upstreamOAuthTokens = sqliteTable(
  'upstream_oauth_tokens',
  {
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    connectionId: text('connection_id')
      .notNull()
      .references(() => connections.id, { onDelete: 'cascade' }),
    userId: text('user_id')
      .notNull()
      .references(() => users.id, { onDelete: 'cascade' }),
    accessTokenCiphertext: text('access_token_ciphertext').notNull(),
    /** Null when the upstream issued no refresh token: the member links again once it expires. */
    refreshTokenCiphertext: text('refresh_token_ciphertext'),
    /** Epoch ms; null when the upstream did not say (used until the upstream refuses it). */
    expiresAt: integer('expires_at', { mode: 'number' }),
    scope: text('scope'),
    createdAt: createdAt(),
    updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    primaryKey({ columns: [t.connectionId, t.userId] }),
    index('upstream_oauth_tokens_user').on(t.userId),
  ],
);
export type UpstreamOAuthTokenRow = typeof upstreamOAuthTokens.$inferSelect;

// Refresh-token reuse detection (docs/oauth.md#refresh-token-rotation-and-reuse): every refresh token
// our authorization server issues, by its SHA-256 (the library's own token id — never the token),
// and when it was first used to refresh. A token of this table presented after it was rotated away
// proves a copy exists, and revokes its grant (workers/oauth/oauth.refresh-reuse.ts).
export const oauthRefreshTokens = sqliteTable(
  'oauth_refresh_tokens',
  {
    tokenHash: text('token_hash').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The library's grant key parts: `grant:<userId>:<grantId>`. */
    userId: text('user_id').notNull(),
    grantId: text('grant_id').notNull(),
    issuedAt: integer('issued_at', { mode: 'number' }).notNull(),
    /** First successful refresh with this token (epoch ms); null while unused. */
    usedAt: integer('used_at', { mode: 'number' }),
    /** When the row may go: the grant's refresh lifetime after issue (the cron deletes it). */
    expiresAt: integer('expires_at', { mode: 'number' }).notNull(),
  },
  (t) => [
    index('oauth_refresh_tokens_grant').on(t.userId, t.grantId),
    index('oauth_refresh_tokens_expiry').on(t.expiresAt),
  ],
);

// Signed audit checkpoints (issue 19, docs/observability.md#signed-export-and-offline-verification):
// one Ed25519 key per organization. The private key is sealed in the vault (AAD
// `<org>:<id>:audit-signing`); the public key is published with every signed export.
export const auditSigningKeys = sqliteTable('audit_signing_keys', {
  id: text('id').primaryKey(),
  orgId: text('org_id')
    .notNull()
    .unique()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  /** base64url of the raw 32-byte Ed25519 public key. */
  publicKey: text('public_key').notNull(),
  /** Vault envelope of the PKCS#8 private key (base64). */
  privateCiphertext: text('private_ciphertext').notNull(),
  createdAt: createdAt(),
});

/** OTLP/HTTP encodings a trace export can use (OTEL_EXPORTER_OTLP_PROTOCOL's names). */
export const OTLP_PROTOCOLS = ['http/json', 'http/protobuf'] as const;

// OpenTelemetry tracing (issue 19, docs/observability.md#tracing): one OTLP/HTTP export target per
// organization. The endpoint's headers (an API key for the collector, usually) are sealed in the
// vault (AAD `<org>:tracing`) and never returned; only their names are.
export const tracingSettings = sqliteTable('tracing_settings', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** The OTLP/HTTP traces URL (e.g. `https://collector.example.com/v1/traces`). */
  endpoint: text('endpoint').notNull(),
  /** Fraction of traces recorded, 0..1 (decided on the trace id, like OpenTelemetry's TraceIdRatioBased). */
  sampleRate: real('sample_rate').notNull().default(1),
  /** JSON array of the header names (shown to admins); the values are only in the envelope. */
  headerNames: text('header_names').notNull().default('[]'),
  /** Vault envelope of a JSON object name → value; null when no header is set. */
  headersCiphertext: text('headers_ciphertext'),
  /** The OTLP/HTTP encoding: `http/json` (default) or `http/protobuf` (binary, workers/tracing/trace.protobuf.ts). */
  protocol: text('protocol', { enum: OTLP_PROTOCOLS }).notNull().default('http/json'),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});
export type TracingSettingsRow = typeof tracingSettings.$inferSelect;

// Langfuse export (issue 19, docs/observability.md#langfuse): one Langfuse project per organization
// that its LLM calls are sent to (workers/langfuse/). The secret key is sealed in the vault (AAD
// `<org>:langfuse`) and never returned; the public key is shown.
export const langfuseSettings = sqliteTable('langfuse_settings', {
  orgId: text('org_id')
    .primaryKey()
    .references(() => organizations.id, { onDelete: 'cascade' }),
  enabled: integer('enabled', { mode: 'boolean' }).notNull().default(true),
  /** The Langfuse base URL (e.g. `https://cloud.langfuse.com`); batches go to `<host>/api/public/ingestion`. */
  host: text('host').notNull(),
  publicKey: text('public_key').notNull(),
  /** Vault envelope of the secret key. */
  secretCiphertext: text('secret_ciphertext').notNull(),
  updatedAt: integer('updated_at', { mode: 'number' }).notNull(),
});
export type LangfuseSettingsRow = typeof langfuseSettings.$inferSelect;

// Periodic signed audit checkpoints (issue 19, docs/observability.md#periodic-checkpoints): the cron
// signs each organization's chain heads with its audit signing key whenever they moved, so a chain
// rewritten in D1 afterwards no longer matches a checkpoint kept elsewhere (workers/audit/audit.checkpoints.ts).
export const auditCheckpoints = sqliteTable(
  'audit_checkpoints',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** The signed payload's `createdAt` (ISO), exactly as signed. */
    signedAt: text('signed_at').notNull(),
    /** JSON array of {chain, first, seq, hash}: every chain's head when signed. */
    heads: text('heads').notNull(),
    keyId: text('key_id').notNull(),
    publicKey: text('public_key').notNull(),
    /** base64url Ed25519 signature over the checkpoint payload (audit.signed-export.ts checkpointPayload). */
    signature: text('signature').notNull(),
    createdAt: createdAt(),
  },
  (t) => [index('audit_checkpoints_org_created').on(t.orgId, t.createdAt)],
);
export type AuditCheckpointRow = typeof auditCheckpoints.$inferSelect;

// Cross App Access (issue 18, experimental, docs/oauth.md#cross-app-access-experimental): the
// enterprise identity providers an organization trusts to sign ID-JAG assertions (each with the
// Igris OAuth clients allowed to present them), and the assertions and subjects it revoked.
export const xaaIssuers = sqliteTable(
  'xaa_issuers',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    /** Must equal the assertions' `iss` exactly (https). */
    issuer: text('issuer').notNull(),
    /** The IdP's JWKS (https); fetched by the OAuth library, refreshed on an unknown `kid`. */
    jwksUri: text('jwks_uri').notNull(),
    /** JSON array of accepted JWS algorithms (RS256, ES256). */
    algorithms: text('algorithms').notNull().default('["RS256"]'),
    /** JSON array of Igris OAuth client ids allowed to exchange this IdP's assertions. */
    clients: text('clients').notNull().default('[]'),
    createdAt: createdAt(),
  },
  (t) => [
    uniqueIndex('xaa_issuers_org_issuer').on(t.orgId, t.issuer),
    index('xaa_issuers_issuer').on(t.issuer),
  ],
);
export type XaaIssuerRow = typeof xaaIssuers.$inferSelect;

export const xaaRevocations = sqliteTable(
  'xaa_revocations',
  {
    id: text('id').primaryKey(),
    orgId: text('org_id')
      .notNull()
      .references(() => organizations.id, { onDelete: 'cascade' }),
    issuer: text('issuer').notNull(),
    /** `jti`: one assertion (and the token it was exchanged for); `subject`: every assertion about a person. */
    kind: text('kind', { enum: ['jti', 'subject'] }).notNull(),
    value: text('value').notNull(),
    createdAt: createdAt(),
  },
  (t) => [uniqueIndex('xaa_revocations_unique').on(t.orgId, t.issuer, t.kind, t.value)],
);
export type XaaRevocationRow = typeof xaaRevocations.$inferSelect;
