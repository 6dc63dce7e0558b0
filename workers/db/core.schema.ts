/**
 * Organizations, people, API keys, connections, policies, agent sessions and the audit trail: the tables every other one hangs from.
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { sql } from 'drizzle-orm';
import { index, integer, real, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';

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
    /**
     * Until when (ms) the connection's guard may hold the configuration epoch in memory: written by
     * the guard only, when it reads its state (durable-objects/guard.lease.ts); a management
     * change pushes its epoch to the guards whose lease has not ended (config.epoch.ts).
     */
    guardLeaseUntil: integer('guard_lease_until', { mode: 'number' }),
    /**
     * Every policy version below this number was pruned (1: none). Versions are gapless per
     * connection, so one with no row below it was pruned (410) and one with no row at or above it
     * never existed (404): what is left of tombstones once they too leave (policy.retention.ts).
     */
    policyPrunedBelow: integer('policy_pruned_below', { mode: 'number' }).notNull().default(1),
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
    /**
     * '' once pruned (pruned_at set): only the newest versions keep their rules, and only the newest
     * pruned ones keep their row; older rows are deleted, below `connections.policy_pruned_below`
     * (policy.retention.ts).
     */
    rules: text('rules', { mode: 'json' }).notNull(),
    /** SHA-256 (hex) of `rules` as stored, kept when the rules are pruned: which policy decided a past call. */
    rulesSha256: text('rules_sha256'),
    /** When the rules were pruned (null: kept). Versions written before rules_sha256 existed are never pruned. */
    prunedAt: integer('pruned_at'),
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
