/**
 * The hub's re-check of its subscribers (durable-objects/event-hub.do.ts): the current role of each
 * principal in D1, by the same rules as authentication. Who a subscriber is and when it may keep
 * its stream: events.subscriber.ts.
 */
import type { Role } from '../db/schema';
import type { StreamPrincipal } from './events.subscriber';
import { callerKillSwitchesStatement } from './killswitch.store';
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
 * may no longer act there. The same rules as authentication (api-key.auth.ts, session.store.ts),
 * and the management API's kill-switch rule: a key under an `apiKey` switch, or a key or session
 * whose member a `user` switch names (by id or email), may do nothing — read events included.
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
          `SELECT k.id, k.role, k.revoked_at, k.created_by, m.role AS creator_role, lower(u.email) AS email
           FROM api_keys k LEFT JOIN members m ON m.org_id = k.org_id AND m.user_id = k.created_by
             LEFT JOIN users u ON u.id = k.created_by
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
          `SELECT s.id, s.user_id, s.expires_at, s.revoked_at, m.role, lower(u.email) AS email
           FROM auth_sessions s JOIN members m ON m.org_id = s.org_id AND m.user_id = s.user_id
             LEFT JOIN users u ON u.id = s.user_id
           WHERE s.org_id = ? AND s.id IN (${placeholders(ids.length)})`,
        )
        .bind(orgId, ...ids),
    );
  }
  if (statements.length === 0) return out;
  statements.push(callerKillSwitchesStatement(db, orgId));
  const results = await db.batch(statements);
  const kills = (results.pop()?.results ?? []) as KillRow[];
  const killed = (who: { key?: string; user: string | null; email: string | null }) =>
    kills.some((k) =>
      k.scope === 'apiKey'
        ? k.target === who.key?.toLowerCase()
        : (who.user !== null && k.target === who.user.toLowerCase()) ||
          (who.email !== null && k.target === who.email),
    );
  results.forEach((result, i) => {
    if (i < keyStatements) {
      for (const row of result.results as KeyRow[]) {
        const held = killed({ key: row.id, user: row.created_by, email: row.email });
        out.set(`key:${row.id}`, held ? null : keyRole(row));
      }
    } else {
      for (const row of result.results as SessionRow[]) {
        const live = row.revoked_at === null && row.expires_at > now;
        const held = killed({ user: row.user_id, email: row.email });
        out.set(`session:${row.id}`, live && !held ? row.role : null);
      }
    }
  });
  return out;
}

interface KillRow {
  scope: 'apiKey' | 'user';
  /** Lower-cased. */
  target: string;
}

interface KeyRow {
  id: string;
  role: Role;
  revoked_at: number | null;
  created_by: string | null;
  creator_role: Role | null;
  email: string | null;
}

interface SessionRow {
  id: string;
  user_id: string;
  expires_at: number;
  revoked_at: number | null;
  role: Role;
  email: string | null;
}

function keyRole(row: KeyRow): Role | null {
  if (row.revoked_at !== null) return null;
  if (row.created_by === null) return row.role;
  return row.creator_role === null ? null : roleAtMost(row.role, row.creator_role);
}
