/**
 * The hub's re-check of its subscribers (durable-objects/event-hub.do.ts): the current role of each
 * principal in D1, by the same rules as authentication. Who a subscriber is and when it may keep
 * its stream: events.subscriber.ts.
 */
import type { Role } from '../db/schema';
import type { StreamPrincipal } from './events.subscriber';
import { roleAtMost } from './roles';

/** D1 allows 100 bound parameters per statement; one is the organization. */
const CHUNK = 90;

function chunks<T>(items: T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}

function placeholders(n: number): string {
  return Array.from({ length: n }, () => '?').join(', ');
}

/**
 * The current role of each principal in the organization (by `principalKey`), or null when it
 * may no longer act there. The same rules as authentication (api-key.auth.ts, session.store.ts).
 * Throws when D1 cannot answer: the caller must then treat every principal as unverified.
 */
export async function currentRoles(
  db: D1Database,
  orgId: string,
  principals: StreamPrincipal[],
  now = Date.now(),
): Promise<Map<string, Role | null>> {
  const out = new Map<string, Role | null>();
  const keyIds = [...new Set(principals.flatMap((p) => (p.kind === 'api_key' ? [p.apiKeyId] : [])))];
  const sessionIds = [...new Set(principals.flatMap((p) => (p.kind === 'session' ? [p.sessionId] : [])))];
  const statements: D1PreparedStatement[] = [];
  for (const ids of chunks(keyIds)) {
    statements.push(
      db
        .prepare(
          `SELECT k.id, k.role, k.revoked_at, k.created_by, m.role AS creator_role
           FROM api_keys k LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.created_by
           WHERE k.org_id = ? AND k.id IN (${placeholders(ids.length)})`,
        )
        .bind(orgId, ...ids),
    );
  }
  const keyStatements = statements.length;
  for (const ids of chunks(sessionIds)) {
    statements.push(
      db
        .prepare(
          `SELECT s.id, s.user_id, s.expires_at, s.revoked_at, m.role
           FROM auth_sessions s JOIN members m ON m.org_id = s.org_id AND m.user_id = s.user_id
           WHERE s.org_id = ? AND s.id IN (${placeholders(ids.length)})`,
        )
        .bind(orgId, ...ids),
    );
  }
  const results = statements.length > 0 ? await db.batch(statements) : [];
  results.forEach((result, i) => {
    if (i < keyStatements) {
      for (const row of result.results as KeyRow[]) out.set(`key:${row.id}`, keyRole(row));
    } else {
      for (const row of result.results as SessionRow[]) {
        const live = row.revoked_at === null && row.expires_at > now;
        out.set(`session:${row.id}`, live ? row.role : null);
      }
    }
  });
  return out;
}

interface KeyRow {
  id: string;
  role: Role;
  revoked_at: number | null;
  created_by: string | null;
  creator_role: Role | null;
}

interface SessionRow {
  id: string;
  user_id: string;
  expires_at: number;
  revoked_at: number | null;
  role: Role;
}

function keyRole(row: KeyRow): Role | null {
  if (row.revoked_at !== null) return null;
  if (row.created_by === null) return row.role;
  return row.creator_role === null ? null : roleAtMost(row.role, row.creator_role);
}
