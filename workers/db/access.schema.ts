/**
 * Kill switches and human sign-in (migration 0001): sessions behind `igris.session_token`, OAuth sign-in accounts, invitations, password resets, the development outbox.
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { index, integer, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';
import { organizations, ROLES, users } from './core.schema';

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
