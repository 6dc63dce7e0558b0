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
import { grantOf, requireOnResource, requireReach } from '../auth/permissions';

function mayReachAll(principal: Principal): boolean {
  return grantOf(principal, 'policies:write') === 'all';
}

/** The prompt's creator (first version) and the creators of what its assignments reach. */
async function promptReach(db: D1Database, orgId: string, id: string) {
  const [creator, targets] = await db.batch([
    db
      .prepare(
        `SELECT CASE WHEN v.created_by LIKE 'user:%' THEN substr(v.created_by, 6) ELSE k.created_by END AS user_id
         FROM system_prompt_versions v
         LEFT JOIN api_keys k ON k.org_id = v.org_id AND k.id = substr(v.created_by, 5) AND v.created_by LIKE 'key:%'
         WHERE v.org_id = ? AND v.prompt_id = ? AND v.version = 1`,
      )
      .bind(orgId, id),
    db
      .prepare(
        `SELECT c.created_by FROM system_prompt_assignments a
         LEFT JOIN connections c ON a.target = 'connection' AND c.org_id = a.org_id AND c.id = a.target_id
         WHERE a.org_id = ? AND a.prompt_id = ?`,
      )
      .bind(orgId, id),
  ]);
  return {
    createdBy: (creator!.results[0] as { user_id: string | null } | undefined)?.user_id ?? null,
    // A team target (and a connection since deleted) joins nothing: created_by is null, nobody's own.
    reached: (targets!.results as { created_by: string | null }[]).map((r) => r.created_by),
  };
}

/** Refuses (403) changing or deleting a prompt the principal did not create, or that reaches others. */
export async function requirePromptChange(db: D1Database, principal: Principal, id: string): Promise<void> {
  if (mayReachAll(principal)) return;
  const { createdBy, reached } = await promptReach(db, principal.orgId, id);
  requireOnResource(principal, 'policies:write', createdBy);
  requireReach(principal, 'policies:write', reached);
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
