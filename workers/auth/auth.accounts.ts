/**
 * Accounts as the sign-in and reset flows read them: a user with the organization their auth
 * events are recorded by (their oldest membership).
 */
import type { UserRow } from './auth.users';

/** A user by address, with the organization their auth events are recorded by: their first. */
export interface Account extends UserRow {
  first_org_id: string | null;
}

// Same order as listMemberships: the first organization is the oldest membership.
const ACCOUNT_SQL = `SELECT u.id, u.email, u.name, u.email_verified, u.password_hash,
  (SELECT m.org_id FROM members m WHERE m.user_id = u.id ORDER BY m.created_at, m.org_id LIMIT 1) AS first_org_id
  FROM users u`;

export async function findAccountByEmail(db: D1Database, email: string): Promise<Account | null> {
  return db.prepare(`${ACCOUNT_SQL} WHERE u.email = ?`).bind(email.toLowerCase()).first<Account>();
}

export async function findAccountById(db: D1Database, id: string): Promise<Account | null> {
  return db.prepare(`${ACCOUNT_SQL} WHERE u.id = ?`).bind(id).first<Account>();
}
