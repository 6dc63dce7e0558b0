/**
 * Who may change a governed system prompt and where it applies (docs/permissions.md).
 *
 * `policies:write` with an `own` grant (a developer) reaches only what the member created, as for
 * connection policies:
 * - a prompt is its creator's — the member behind its first version (`user:<id>`, or the creator of
 *   the key `key:<id>`); a prompt made by a system key is nobody's own;
 * - renaming, a new text or deleting it also reaches every target it is assigned to, so each must be
 *   the member's own connection: a team is everybody's, never one member's own;
 * - assigning or unassigning changes what the target's calls get, so it needs `policies:write` on
 *   the target, exactly as changing that connection's policy does.
 * Anything reaching someone else's needs an `all` grant (owner, admin). Principals with an `all`
 * grant cost no query here.
 */
import type { Principal } from '../app.types';
import { grantOf, reachRefusal, requireOnResource, resourceRefusal } from '../auth/permissions';
import type { AppError } from '../lib/errors';

function mayReachAll(principal: Principal): boolean {
  return grantOf(principal, 'policies:write') === 'all';
}

/** A prompt's creator (a user id, null when nobody's own) and the creators of what its assignments reach. */
interface PromptReach {
  createdBy: string | null;
  reached: (string | null)[];
}

const NOBODYS: PromptReach = { createdBy: null, reached: [] };

/** Each prompt's reach (`id`: that prompt's only), read in one batch. */
async function promptReaches(db: D1Database, orgId: string, id?: string): Promise<Map<string, PromptReach>> {
  const one = id === undefined ? '' : ' AND prompt_id = ?';
  const binds = id === undefined ? [orgId] : [orgId, id];
  const [creators, targets] = await db.batch([
    db
      .prepare(
        `SELECT v.prompt_id AS id, CASE WHEN v.created_by LIKE 'user:%' THEN substr(v.created_by, 6) ELSE k.created_by END AS user_id
         FROM system_prompt_versions v
         LEFT JOIN api_keys k ON k.org_id = v.org_id AND k.id = substr(v.created_by, 5) AND v.created_by LIKE 'key:%'
         WHERE v.org_id = ? AND v.version = 1${one.replace('prompt_id', 'v.prompt_id')}`,
      )
      .bind(...binds),
    db
      .prepare(
        `SELECT a.prompt_id AS id, c.created_by FROM system_prompt_assignments a
         LEFT JOIN connections c ON a.target = 'connection' AND c.org_id = a.org_id AND c.id = a.target_id
         WHERE a.org_id = ?${one.replace('prompt_id', 'a.prompt_id')}`,
      )
      .bind(...binds),
  ]);
  const reaches = new Map<string, PromptReach>();
  const of = (promptId: string) => {
    const reach = reaches.get(promptId) ?? { createdBy: null, reached: [] };
    reaches.set(promptId, reach);
    return reach;
  };
  for (const row of creators!.results as { id: string; user_id: string | null }[]) {
    of(row.id).createdBy = row.user_id;
  }
  // A team target (and a connection since deleted) joins nothing: created_by is null, nobody's own.
  for (const row of targets!.results as { id: string; created_by: string | null }[]) {
    of(row.id).reached.push(row.created_by);
  }
  return reaches;
}

/**
 * Why `principal` may not change (rename, new text, delete) a prompt with this reach, or null: its
 * creator, then every target it is assigned to. The one judgment of requirePromptChange and of
 * the listings' `canEdit` (promptEditRights).
 */
function promptChangeRefusal(principal: Principal, reach: PromptReach): AppError | null {
  return (
    resourceRefusal(principal, 'policies:write', reach.createdBy) ??
    reachRefusal(principal, 'policies:write', reach.reached)
  );
}

/** Refuses (403) changing or deleting a prompt the principal did not create, or that reaches others. */
export async function requirePromptChange(db: D1Database, principal: Principal, id: string): Promise<void> {
  if (mayReachAll(principal)) return;
  const reach = (await promptReaches(db, principal.orgId, id)).get(id) ?? NOBODYS;
  const refusal = promptChangeRefusal(principal, reach);
  if (refusal) throw refusal;
}

/** Who created a prompt (a user id, null when nobody's own), and whether the caller may change it now. */
export interface PromptEditRight {
  createdBy: string | null;
  canEdit: boolean;
}

/** Each prompt's (`id`: that prompt's) creator and `canEdit`, judged as requirePromptChange judges. */
export async function promptEditRights(
  db: D1Database,
  principal: Principal,
  id?: string,
): Promise<(promptId: string) => PromptEditRight> {
  const reaches = await promptReaches(db, principal.orgId, id);
  return (promptId) => {
    const reach = reaches.get(promptId) ?? NOBODYS;
    return { createdBy: reach.createdBy, canEdit: promptChangeRefusal(principal, reach) === null };
  };
}

/**
 * Refuses (403) assigning to, or unassigning from, a target the principal may not govern: a team,
 * or a connection they did not create. (Whether the target exists was checked before: 404.)
 */
export async function requireTargetWrite(
  db: D1Database,
  principal: Principal,
  target: { target: 'connection' | 'team'; targetId: string },
): Promise<void> {
  if (mayReachAll(principal)) return;
  const row =
    target.target === 'connection'
      ? await db
          .prepare('SELECT created_by FROM connections WHERE org_id = ? AND id = ?')
          .bind(principal.orgId, target.targetId)
          .first<{ created_by: string | null }>()
      : null;
  requireOnResource(principal, 'policies:write', row?.created_by ?? null);
}
