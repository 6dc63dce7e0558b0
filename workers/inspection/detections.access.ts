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
import { grantOf, requireOnResource, requireReach } from '../auth/permissions';
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

/** The creators of the connections whose inspection settings apply any of `packNames`. */
async function creatorsApplying(env: Db, orgId: string, packNames: readonly string[]) {
  if (packNames.length === 0) return [];
  const marks = packNames.map(() => '?').join(', ');
  const rows = await env.DB.prepare(
    `SELECT DISTINCT c.created_by FROM connections c, json_each(c.settings, '$.inspection.packs') p
     WHERE c.org_id = ? AND p.value IN (${marks})`,
  )
    .bind(orgId, ...packNames)
    .all<{ created_by: string | null }>();
  return rows.results.map((r) => r.created_by);
}

/**
 * Refuses (403) a rule change that would reach another member's connection. `rules` are the
 * rule before and after the change: a new category or severity can bring it into other packs.
 */
export async function requireRuleReach(env: Db, principal: Principal, rules: readonly Rule[]): Promise<void> {
  if (mayReachAll(principal)) return;
  // Read from D1, not the per-isolate cache: a pack created a moment ago elsewhere counts too.
  const stored = await env.DB.prepare('SELECT pack FROM detection_packs WHERE org_id = ?')
    .bind(principal.orgId)
    .all<{ pack: string }>();
  const packs = stored.results.map((r) => JSON.parse(r.pack) as Pack);
  const creators = await creatorsApplying(env, principal.orgId, packsSelecting(rules, packs));
  requireReach(principal, 'policies:write', creators);
}

/** Refuses (403) a pack change that would reach another member's connection. */
export async function requirePackReach(env: Db, principal: Principal, name: string): Promise<void> {
  if (mayReachAll(principal)) return;
  requireReach(principal, 'policies:write', await creatorsApplying(env, principal.orgId, [name]));
}
