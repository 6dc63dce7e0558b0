/**
 * Users, memberships and personal organizations: the small pieces sign-up, sign-in, OAuth and
 * invitations share. Emails are stored lower-cased (the schemas normalize them).
 */
import type { Principal } from '../app.types';
import { adminAuditStatement } from '../audit/audit.admin';
import type { Role } from '../db/schema';
import { randomId } from '../lib/ids';
import type { MembershipDto } from './auth.schemas';

export interface UserRow {
  id: string;
  email: string;
  name: string;
  email_verified: number;
  password_hash: string | null;
}

export async function findUserByEmail(db: D1Database, email: string): Promise<UserRow | null> {
  return db
    .prepare('SELECT id, email, name, email_verified, password_hash FROM users WHERE email = ?')
    .bind(email.toLowerCase())
    .first<UserRow>();
}

export async function findUserById(db: D1Database, id: string): Promise<UserRow | null> {
  return db
    .prepare('SELECT id, email, name, email_verified, password_hash FROM users WHERE id = ?')
    .bind(id)
    .first<UserRow>();
}

export function insertUserStatement(
  db: D1Database,
  user: { id: string; email: string; name: string; emailVerified: boolean; passwordHash: string | null },
): D1PreparedStatement {
  return db
    .prepare(
      'INSERT INTO users (id, email, name, email_verified, password_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    )
    .bind(user.id, user.email, user.name, user.emailVerified ? 1 : 0, user.passwordHash, Date.now());
}

/** The user's organizations with their role in each, oldest membership first. */
export async function listMemberships(db: D1Database, userId: string): Promise<MembershipDto[]> {
  const { results } = await db
    .prepare(
      `SELECT o.id, o.slug, o.name, m.role FROM members m JOIN organizations o ON o.id = m.org_id
       WHERE m.user_id = ? ORDER BY m.created_at, o.id`,
    )
    .bind(userId)
    .all<MembershipDto>();
  return results;
}

/** The principal a person acts as inside one organization (for audit rows of their own actions). */
export function personPrincipal(
  userId: string,
  orgId: string,
  role: Role,
  sessionId: string | null,
): Principal {
  return { kind: 'session', orgId, role, userId, apiKeyId: null, sessionId, actor: `user:${userId}` };
}

function slugBase(text: string): string {
  const base = text
    .toLowerCase()
    .normalize('NFKD')
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 30)
    .replace(/-+$/g, '');
  return base || 'org';
}

/** A fresh organization slug: readable base + random suffix (slugs are unique across the instance). */
export function newOrgSlug(name: string): string {
  return `${slugBase(name)}-${randomId('', 6).slice(1)}`;
}

export interface NewOrganization {
  orgId: string;
  slug: string;
  name: string;
  statements: D1PreparedStatement[];
}

/** Statements creating an organization with `userId` as its owner, plus the audit row. */
export function newOrganizationStatements(
  db: D1Database,
  userId: string,
  name: string,
  slug: string,
  sessionId: string | null,
): NewOrganization {
  const orgId = randomId('org');
  const now = Date.now();
  return {
    orgId,
    slug,
    name,
    statements: [
      db
        .prepare('INSERT INTO organizations (id, slug, name, settings, created_at) VALUES (?, ?, ?, ?, ?)')
        .bind(orgId, slug, name, '{}', now),
      db
        .prepare('INSERT INTO members (id, org_id, user_id, role, created_at) VALUES (?, ?, ?, ?, ?)')
        .bind(randomId('mem'), orgId, userId, 'owner', now),
      adminAuditStatement(db, personPrincipal(userId, orgId, 'owner', sessionId), {
        action: 'organization.create',
        details: { slug, name },
      }),
    ],
  };
}

export function personalOrganizationName(name: string, email: string): string {
  const who = name.trim() || email.split('@')[0] || 'My';
  return `${who}'s organization`.slice(0, 100);
}
