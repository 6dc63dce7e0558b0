/**
 * Which user an OAuth identity signs in as:
 *
 * 1. an identity already linked (provider + provider account id) → that user;
 * 2. otherwise only a VERIFIED provider email may go further (unverified → refused);
 * 3. a user with that email exists → the identity is linked to them. If that account's address was
 *    never verified, whoever set its password did not prove they own the address, while the
 *    provider just did: the unproven password is removed and its sessions are signed out, so a
 *    squatter who registered the victim's address first cannot keep a way in (pre-hijacking);
 * 4. no such user → a new, verified user with a personal organization.
 *
 * Linking an identity to a user (cases 3 and 4) writes an `auth.oauth_link` audit row in the same
 * batch, recorded by the user's first organization.
 */
import { authAuditStatement } from '../audit/audit.admin';
import { randomId } from '../lib/ids';
import {
  findUserByEmail,
  insertUserStatement,
  listMemberships,
  newOrganizationStatements,
  newOrgSlug,
  personalOrganizationName,
} from './auth.users';
import { OAuthFailure, type OAuthIdentity } from './oauth.flow';
import type { OAuthProvider } from './oauth.providers';
import { revokeUserSessionsStatement } from './session.store';

export interface OAuthUser {
  userId: string;
  /** The account's address (not necessarily the provider's current one, for a linked identity). */
  email: string;
  created: boolean;
}

async function linkedUser(
  db: D1Database,
  provider: OAuthProvider,
  accountId: string,
): Promise<OAuthUser | null> {
  const row = await db
    .prepare(
      `SELECT a.user_id, u.email FROM oauth_accounts a JOIN users u ON u.id = a.user_id
       WHERE a.provider = ? AND a.provider_account_id = ?`,
    )
    .bind(provider, accountId)
    .first<{ user_id: string; email: string }>();
  return row ? { userId: row.user_id, email: row.email, created: false } : null;
}

function linkStatement(db: D1Database, provider: OAuthProvider, identity: OAuthIdentity, userId: string) {
  return db
    .prepare(
      'INSERT INTO oauth_accounts (id, user_id, provider, provider_account_id, email, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .bind(randomId('oac'), userId, provider, identity.providerAccountId, identity.email, Date.now());
}

export async function resolveOAuthUser(
  db: D1Database,
  provider: OAuthProvider,
  identity: OAuthIdentity,
): Promise<OAuthUser> {
  const linked = await linkedUser(db, provider, identity.providerAccountId);
  if (linked) return linked;
  if (!identity.email || !identity.emailVerified) throw new OAuthFailure('email_unverified');

  const existing = await findUserByEmail(db, identity.email);
  try {
    if (existing) {
      const unproven = existing.email_verified !== 1;
      const statements = [
        linkStatement(db, provider, identity, existing.id),
        authAuditStatement(db, {
          action: 'auth.oauth_link',
          orgId: (await listMemberships(db, existing.id))[0]?.id ?? null,
          userId: existing.id,
          email: existing.email,
          details: { provider, newAccount: false, unverifiedPasswordRemoved: unproven },
        }),
      ];
      if (unproven) {
        statements.push(
          db
            .prepare('UPDATE users SET email_verified = 1, password_hash = NULL WHERE id = ?')
            .bind(existing.id),
          revokeUserSessionsStatement(db, existing.id),
        );
      }
      await db.batch(statements);
      return { userId: existing.id, email: existing.email, created: false };
    }
    const userId = randomId('usr');
    const org = newOrganizationStatements(
      db,
      userId,
      personalOrganizationName(identity.name, identity.email),
      newOrgSlug(identity.email.split('@')[0] ?? 'org'),
      null,
    );
    await db.batch([
      insertUserStatement(db, {
        id: userId,
        email: identity.email,
        name: identity.name.slice(0, 100),
        emailVerified: true,
        passwordHash: null,
      }),
      ...org.statements,
      linkStatement(db, provider, identity, userId),
      authAuditStatement(db, {
        action: 'auth.oauth_link',
        orgId: org.orgId,
        userId,
        email: identity.email,
        details: { provider, newAccount: true, unverifiedPasswordRemoved: false },
      }),
    ]);
    return { userId, email: identity.email, created: true };
  } catch (err) {
    // A concurrent callback for the same identity (or address) won the race: use its result.
    const raced = await linkedUser(db, provider, identity.providerAccountId);
    if (raced) return raced;
    throw new OAuthFailure('account_conflict', err);
  }
}
