/**
 * OAuth 2.1 (docs/oauth.md): members' upstream tokens, refresh-token reuse detection, Cross App Access issuers and revocations.
 * Part of the D1 schema (workers/db/schema.ts re-exports every table).
 */
import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from 'drizzle-orm/sqlite-core';
import { createdAt } from './columns.schema';
import { connections, organizations, users } from './core.schema';

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
