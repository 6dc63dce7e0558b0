/**
 * Who may change an organization's custom detection rules and packs (docs/permissions.md).
 *
 * `policies:write` with an `own` grant (a developer) reaches only what the member created, as for
 * connection policies: a developer changes or deletes only the rules and packs they created, and
 * only while every connection they reach is theirs. A rule reaches the connections applying a custom
 * pack that selects it (by id, or by category from the pack's minimum severity); a pack reaches the
 * connections applying it. Reaching anyone else's connection — or a system key's — needs an `all`
 * grant (owner, admin). Principals with an `all` grant cost no query here.
 */
import type { Principal } from '../app.types';
import { grantOf, reachRefusal, requireOnResource, requireReach, resourceRefusal } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { packsSelecting } from './inspection.compile';
import type { Pack, Rule } from './inspection.schema';

type Db = { DB: D1Database };

function mayReachAll(principal: Principal): boolean {
  return grantOf(principal, 'policies:write') === 'all';
}

/** A stored custom rule (404 outside the organization), with its creator checked (403). */
export async function storedRuleForChange(env: Db, principal: Principal, ruleId: string): Promise<Rule> {
  // Another organization's rule is as missing as one that never was.
  const row = await env.DB.prepare(
    'SELECT rule, created_by FROM detection_rules WHERE org_id = ? AND rule_id = ?',
  )
    .bind(principal.orgId, ruleId)
    .first<{ rule: string; created_by: string | null }>();
  if (!row) throw new AppError('not_found', { message: 'Custom rule not found' });
  requireOnResource(principal, 'policies:write', row.created_by);
  return JSON.parse(row.rule) as Rule;
}

/** A stored custom pack's presence (404 outside the organization), with its creator checked (403). */
export async function storedPackForChange(env: Db, principal: Principal, name: string): Promise<void> {
  const row = await env.DB.prepare('SELECT created_by FROM detection_packs WHERE org_id = ? AND name = ?')
    .bind(principal.orgId, name)
    .first<{ created_by: string | null }>();
  if (!row) throw new AppError('not_found', { message: 'Custom pack not found' });
  requireOnResource(principal, 'policies:write', row.created_by);
}

/** Creators of the connections applying each custom pack (by its name), for the whole organization. */
async function appliersOf(env: Db, orgId: string): Promise<Map<string, (string | null)[]>> {
  const rows = await env.DB.prepare(
    `SELECT DISTINCT p.value AS pack, c.created_by FROM connections c, json_each(c.settings, '$.inspection.packs') p
     WHERE c.org_id = ?`,
  )
    .bind(orgId)
    .all<{ pack: string; created_by: string | null }>();
  const appliers = new Map<string, (string | null)[]>();
  for (const row of rows.results) {
    const list = appliers.get(row.pack) ?? [];
    list.push(row.created_by);
    appliers.set(row.pack, list);
  }
  return appliers;
}

/** Whose connections a change to `rules` reaches: those applying a custom pack that selects one of them. */
function ruleReach(rules: readonly Rule[], packs: readonly Pack[], appliers: Map<string, (string | null)[]>) {
  return packsSelecting(rules, packs).flatMap((name) => appliers.get(name) ?? []);
}

/** The organization's custom packs, read from D1, not the per-isolate cache: one created a moment ago elsewhere counts too. */
async function storedPacks(env: Db, orgId: string): Promise<Pack[]> {
  const stored = await env.DB.prepare('SELECT pack FROM detection_packs WHERE org_id = ?')
    .bind(orgId)
    .all<{ pack: string }>();
  return stored.results.map((r) => JSON.parse(r.pack) as Pack);
}

/**
 * Refuses (403) a rule change that would reach another member's connection. `rules` are the
 * rule before and after the change: a new category or severity can bring it into other packs.
 */
export async function requireRuleReach(env: Db, principal: Principal, rules: readonly Rule[]): Promise<void> {
  if (mayReachAll(principal)) return;
  const [packs, appliers] = await Promise.all([
    storedPacks(env, principal.orgId),
    appliersOf(env, principal.orgId),
  ]);
  requireReach(principal, 'policies:write', ruleReach(rules, packs, appliers));
}

/** Refuses (403) a pack change that would reach another member's connection. */
export async function requirePackReach(env: Db, principal: Principal, name: string): Promise<void> {
  if (mayReachAll(principal)) return;
  requireReach(principal, 'policies:write', (await appliersOf(env, principal.orgId)).get(name) ?? []);
}

/** Who created a custom rule or pack, and whether the caller may change (edit or delete) it. */
export interface EditRight {
  createdBy: string | null;
  canEdit: boolean;
}

/**
 * Each custom rule's and pack's creator and whether `principal` may change it now, for the
 * listings (the dashboard offers edit and delete only where `canEdit`). Judged exactly as the
 * changes above judge it — the creator (storedRuleForChange, storedPackForChange), then every
 * connection the change reaches (requireRuleReach, requirePackReach) — on the same D1 data.
 */
export async function customEditRights(
  env: Db,
  principal: Principal,
): Promise<{ rules: Map<string, EditRight>; packs: Map<string, EditRight> }> {
  const [ruleRows, packRows] = await env.DB.batch<{ id: string; body: string; created_by: string | null }>([
    env.DB.prepare(
      'SELECT rule_id AS id, rule AS body, created_by FROM detection_rules WHERE org_id = ?',
    ).bind(principal.orgId),
    env.DB.prepare('SELECT name AS id, pack AS body, created_by FROM detection_packs WHERE org_id = ?').bind(
      principal.orgId,
    ),
  ]);
  const rules = ruleRows?.results ?? [];
  const packRowsOf = packRows?.results ?? [];
  // Only an `own` grant's answer depends on what a change reaches.
  const own = grantOf(principal, 'policies:write') === 'own';
  const appliers = own ? await appliersOf(env, principal.orgId) : new Map<string, (string | null)[]>();
  const packs = packRowsOf.map((r) => JSON.parse(r.body) as Pack);
  const right = (createdBy: string | null, reached: () => (string | null)[]): EditRight => ({
    createdBy,
    canEdit:
      resourceRefusal(principal, 'policies:write', createdBy) === null &&
      reachRefusal(principal, 'policies:write', own ? reached() : []) === null,
  });
  return {
    rules: new Map(
      rules.map((r) => [
        r.id,
        right(r.created_by, () => ruleReach([JSON.parse(r.body) as Rule], packs, appliers)),
      ]),
    ),
    packs: new Map(packRowsOf.map((r) => [r.id, right(r.created_by, () => appliers.get(r.id) ?? [])])),
  };
}
