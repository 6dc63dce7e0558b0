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
 */
import { randomId } from '../lib/ids';
import {
  findUserByEmail,
  insertUserStatement,
  newOrganizationStatements,
  newOrgSlug,
  personalOrganizationName,
} from './auth.users';
import { OAuthFailure, type OAuthIdentity } from './oauth.flow';
import type { OAuthProvider } from './oauth.providers';
import { revokeUserSessionsStatement } from './session.store';

async function linkedUser(
  db: D1Database,
  provider: OAuthProvider,
  accountId: string,
): Promise<string | null> {
  const row = await db
    .prepare('SELECT user_id FROM oauth_accounts WHERE provider = ? AND provider_account_id = ?')
    .bind(provider, accountId)
    .first<{ user_id: string }>();
  return row?.user_id ?? null;
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
): Promise<{ userId: string; created: boolean }> {
  const linked = await linkedUser(db, provider, identity.providerAccountId);
  if (linked) return { userId: linked, created: false };
  if (!identity.email || !identity.emailVerified) throw new OAuthFailure('email_unverified');

  const existing = await findUserByEmail(db, identity.email);
  try {
    if (existing) {
      const statements = [linkStatement(db, provider, identity, existing.id)];
      if (existing.email_verified !== 1) {
        statements.push(
          db
            .prepare('UPDATE users SET email_verified = 1, password_hash = NULL WHERE id = ?')
            .bind(existing.id),
          revokeUserSessionsStatement(db, existing.id),
        );
      }
      await db.batch(statements);
      return { userId: existing.id, created: false };
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
    ]);
    return { userId, created: true };
  } catch (err) {
    // A concurrent callback for the same identity (or address) won the race: use its result.
    const raced = await linkedUser(db, provider, identity.providerAccountId);
    if (raced) return { userId: raced, created: false };
    throw new OAuthFailure('account_conflict', err);
  }
}
