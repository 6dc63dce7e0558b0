/**
 * A connection's access list (`settings.sharedWith`): the members, besides its creator, a
 * developer-role key may use it for through the gateway (`connections:use`,
 * workers/auth/permissions.ts). Whoever holds `connections:write` on the connection edits it with
 * `PATCH /api/v1/connections/{slug}` (`{"settings":{"sharedWith":[userId, …]}}`).
 *
 * Every id must name a member of the connection's own organization: a list that could name
 * anyone would let a later invitation silently widen access, and a typo would grant nothing
 * without saying so.
 */
import { AppError } from '../lib/errors';

/** The list as stored: duplicates dropped, first occurrence kept. */
export function normalizeSharedWith(ids: readonly string[]): string[] {
  return [...new Set(ids)];
}

/** Throws 400 naming the first id that is not a member of `orgId`. */
export async function checkSharedWith(db: D1Database, orgId: string, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  // One query whatever the list's length (json_each instead of one bound parameter per id).
  const { results } = await db
    .prepare('SELECT user_id FROM members WHERE org_id = ? AND user_id IN (SELECT value FROM json_each(?))')
    .bind(orgId, JSON.stringify(ids))
    .all<{ user_id: string }>();
  const members = new Set(results.map((row) => row.user_id));
  const index = ids.findIndex((id) => !members.has(id));
  if (index === -1) return;
  throw new AppError('validation_failed', {
    details: {
      issues: [
        {
          location: 'body',
          path: `settings.sharedWith.${index}`,
          message: 'sharedWith must list user ids of members of this organization',
        },
      ],
    },
  });
}

/**
 * An a2a connection's `settings.allowedTeams` (docs/a2a.md#access-by-team): every id must name a
 * team of the connection's own organization (another tenant's team id grants nothing and is
 * refused, like a typo). Throws 400 naming the first unknown id; returns the list deduplicated.
 */
export async function checkAllowedTeams(
  db: D1Database,
  orgId: string,
  ids: readonly string[] | undefined,
): Promise<string[] | undefined> {
  if (ids === undefined) return undefined;
  const unique = [...new Set(ids)];
  if (unique.length === 0) return unique;
  const { results } = await db
    .prepare('SELECT id FROM teams WHERE org_id = ? AND id IN (SELECT value FROM json_each(?))')
    .bind(orgId, JSON.stringify(unique))
    .all<{ id: string }>();
  const known = new Set(results.map((row) => row.id));
  const index = unique.findIndex((id) => !known.has(id));
  if (index === -1) return unique;
  throw new AppError('validation_failed', {
    details: {
      issues: [
        {
          location: 'body',
          path: `settings.allowedTeams.${index}`,
          message: 'allowedTeams must list ids of teams of this organization',
        },
      ],
    },
  });
}
