/**
 * The detections API's work (`/api/v1/detections/*`, docs/detections.md): the built-in rules and
 * packs, an organization's custom rules and packs (D1, validated when saved, scoped to the
 * principal's organization, audited in the same batch), the scan used by the rule tester and CI,
 * and the check of a connection's `inspection` settings when they are saved. Who may change which
 * rule or pack (a developer: their own, reaching only their own connections) is detections.access.ts.
 */
import type { z } from 'zod';
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { listIssues, quoted, quotedPath, unknownKeysMessage } from '../lib/issues.list';
import type { InspectionSettings } from '../shared/connection.settings';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import {
  customEditRights,
  type EditRight,
  requirePackReach,
  requireRuleReach,
  storedPackForChange,
  storedRuleForChange,
} from './detections.access';
import { builtinPacks, builtinRules } from './inspection.builtin';
import { validateCustomRule } from './inspection.custom';
import { customPackNames, engineFor } from './inspection.engines';
import { type Pack, packSchema, type Rule, type Where } from './inspection.schema';
import { riskScore } from './inspection.score';
import { invalidateOrgDetections, loadOrgDetections } from './inspection.store';

type Env_ = { DB: D1Database; POLICY_CACHE_TTL_MS?: string };

/** What the API shows of a rule: everything but its detection internals stays readable. */
export function ruleSummary(rule: Rule, custom: boolean) {
  return {
    id: rule.id,
    category: rule.category,
    severity: rule.severity,
    where: rule.where,
    action: rule.action,
    description: rule.description,
    references: rule.references,
    custom,
    // The organization's own rules in full, so the dashboard's editor can change them.
    ...(custom ? { definition: rule as unknown as Record<string, unknown> } : {}),
  };
}

export function packSummary(pack: Pack, custom: boolean) {
  return {
    name: pack.name,
    description: pack.description,
    rules: pack.rules,
    categories: pack.categories,
    minSeverity: pack.minSeverity ?? null,
    custom,
  };
}

export interface ScanInput {
  text: string;
  where?: Where;
  packs?: string[];
}

/** The engine over a text: the named packs (built-in or the organization's), or every rule. */
export async function scanText(env: Env_, principal: Principal, input: ScanInput) {
  requirePermission(principal, 'policies:read');
  const custom = await loadOrgDetections(env, principal.orgId);
  if (input.packs) checkPackNames(input.packs, custom.packs, 'body', 'packs');
  const engine = engineFor({ packs: input.packs ?? 'all' }, custom);
  const found = engine.scan(input.text, input.where ?? 'prompt');
  return {
    findings: found.map((f) => ({
      ruleId: f.ruleId,
      category: f.category,
      severity: f.severity,
      action: f.action,
      start: f.start,
      end: f.end,
      ...(f.encoding ? { encoding: f.encoding } : {}),
    })),
    riskScore: riskScore(found),
  };
}

function checkPackNames(
  names: readonly string[],
  custom: ReadonlyMap<string, Pack>,
  location: 'body',
  path: string,
): void {
  const unknown = customPackNames(names).filter((n) => !custom.has(n));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', {
      message: `Unknown detection pack ${JSON.stringify(unknown[0])}: use a built-in pack (GET /api/v1/detections/packs) or create it first`,
      details: { location, path, unknown },
    });
  }
}

/** A connection's `inspection` settings, checked when saved: packs and overridden rules must exist. */
export async function checkInspectionSettings(
  env: Env_,
  orgId: string,
  inspection: InspectionSettings | undefined,
): Promise<void> {
  if (!inspection) return;
  const custom = await loadOrgDetections(env, orgId);
  checkPackNames(inspection.packs, custom.packs, 'body', 'settings.inspection.packs');
  const known = new Set([...builtinRules(), ...custom.rules].map((r) => r.id));
  const unknown = Object.keys(inspection.overrides?.rules ?? {}).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', {
      message: `Unknown detection rule ${JSON.stringify(unknown[0])} in overrides`,
      details: { location: 'body', path: 'settings.inspection.overrides.rules', unknown },
    });
  }
}

/** Built-in rules and packs are nobody's and changed by no one. */
const BUILTIN: EditRight = { createdBy: null, canEdit: false };
/** A custom item the edit rights do not know (read a moment apart): not offered for change. */
const UNKNOWN: EditRight = { createdBy: null, canEdit: false };

/** Every rule, each with who created it and whether the caller may change it (customEditRights). */
export async function listRules(env: Env_, principal: Principal) {
  requirePermission(principal, 'policies:read');
  const [custom, rights] = await Promise.all([
    loadOrgDetections(env, principal.orgId),
    customEditRights(env, principal),
  ]);
  return [
    ...builtinRules().map((r) => ({ ...ruleSummary(r, false), ...BUILTIN })),
    ...custom.rules.map((r) => ({ ...ruleSummary(r, true), ...(rights.rules.get(r.id) ?? UNKNOWN) })),
  ];
}

/** Every pack, each with who created it and whether the caller may change it (customEditRights). */
export async function listPacks(env: Env_, principal: Principal) {
  requirePermission(principal, 'policies:read');
  const [custom, rights] = await Promise.all([
    loadOrgDetections(env, principal.orgId),
    customEditRights(env, principal),
  ]);
  return [
    ...[...builtinPacks().values()].map((p) => ({ ...packSummary(p, false), ...BUILTIN })),
    ...[...custom.packs.values()].map((p) => ({
      ...packSummary(p, true),
      ...(rights.packs.get(p.name) ?? UNKNOWN),
    })),
  ];
}

function conflict(message: string, path: string): AppError {
  return new AppError('conflict', { message, details: { location: 'body', path } });
}

/** The first errors of a refused rule, and `errorCount` when there were more (lib/issues.list.ts). */
function boundedErrors<T>(errors: readonly T[]): { errors: T[]; errorCount?: number } {
  const { issues, issueCount } = listIssues(errors);
  return issueCount === undefined ? { errors: issues } : { errors: issues, errorCount: issueCount };
}

/** A zod issue as an answer quotes it: its path's keys and its unknown keys bounded (lib/issues.list.ts). */
function boundedIssue(issue: z.core.$ZodIssue) {
  return {
    code: issue.code,
    path: issue.path.map((p) => (typeof p === 'number' ? p : quoted(String(p)))),
    message: issue.code === 'unrecognized_keys' ? unknownKeysMessage(issue.keys) : issue.message,
  };
}

/** A custom rule as sent, checked by validateCustomRule; refused with the first problem's path. */
function checkedRule(input: unknown): Rule {
  const checked = validateCustomRule(input);
  if (!checked.ok) {
    throw new AppError('validation_failed', {
      message: `Rule refused: ${checked.errors[0]!.message}`,
      details: { location: 'body', path: checked.errors[0]!.path, ...boundedErrors(checked.errors) },
    });
  }
  return checked.rule;
}

/** Saves a custom rule after validateCustomRule (schema, linear pattern, its own examples). */
export async function createRule(env: Env_, principal: Principal, input: unknown) {
  requirePermission(principal, 'policies:write');
  const rule = checkedRule(input);
  if (builtinRules().some((r) => r.id === rule.id))
    throw conflict(`Rule id ${rule.id} is a built-in rule's`, 'id');
  // A new rule joins every custom pack that selects its category: it may reach others' connections.
  await requireRuleReach(env, principal, [rule]);
  const [now, id, limit] = [Date.now(), randomId('dru_'), COUNT_LIMITS.detectionRules];
  let inserted: D1Result | undefined;
  try {
    [inserted] = await env.DB.batch([
      insertBelowCap(
        env.DB,
        limit,
        [principal.orgId],
        'INSERT INTO detection_rules (id, org_id, rule_id, rule, created_by, created_at, updated_at)',
        [id, principal.orgId, rule.id, JSON.stringify(rule), principal.userId, now, now],
      ),
      adminAuditStatementIf(
        env.DB,
        principal,
        {
          action: 'detection_rule.create',
          details: { ruleId: rule.id, category: rule.category, severity: rule.severity, action: rule.action },
        },
        rowExists('detection_rules', id),
      ),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw conflict(`A custom rule ${rule.id} already exists`, 'id');
    throw err;
  }
  requireInserted(inserted, limit);
  invalidateOrgDetections(principal.orgId);
  return ruleSummary(rule, true);
}

export async function deleteRule(env: Env_, principal: Principal, ruleId: string): Promise<void> {
  requirePermission(principal, 'policies:write');
  const stored = await storedRuleForChange(env, principal, ruleId);
  await requireRuleReach(env, principal, [stored]);
  await env.DB.batch([
    env.DB.prepare('DELETE FROM detection_rules WHERE org_id = ? AND rule_id = ?').bind(
      principal.orgId,
      ruleId,
    ),
    adminAuditStatement(env.DB, principal, { action: 'detection_rule.delete', details: { ruleId } }),
  ]);
  invalidateOrgDetections(principal.orgId);
}

/** Replaces a custom rule (same checks as createRule); its id cannot change. */
export async function updateRule(env: Env_, principal: Principal, ruleId: string, input: unknown) {
  requirePermission(principal, 'policies:write');
  const stored = await storedRuleForChange(env, principal, ruleId);
  const rule = checkedRule(input);
  if (rule.id !== ruleId) {
    throw new AppError('validation_failed', {
      message: 'Rule refused: the id of a saved rule cannot change (create a new rule instead)',
      details: { location: 'body', path: 'id' },
    });
  }
  // Before and after: a new category or severity can bring the rule into other packs.
  await requireRuleReach(env, principal, [stored, rule]);
  await env.DB.batch([
    env.DB.prepare(
      'UPDATE detection_rules SET rule = ?, updated_at = ? WHERE org_id = ? AND rule_id = ?',
    ).bind(JSON.stringify(rule), Date.now(), principal.orgId, ruleId),
    adminAuditStatement(env.DB, principal, {
      action: 'detection_rule.update',
      details: { ruleId: rule.id, category: rule.category, severity: rule.severity, action: rule.action },
    }),
  ]);
  invalidateOrgDetections(principal.orgId);
  return ruleSummary(rule, true);
}

/** A custom pack as sent: schema, a name that is not a built-in pack's, rule ids that exist. */
async function checkedPack(env: Env_, principal: Principal, input: unknown): Promise<Pack> {
  const parsed = packSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new AppError('validation_failed', {
      message: `Pack refused: ${issue.message}`,
      details: {
        location: 'body',
        path: quotedPath(issue.path),
        ...listIssues(parsed.error.issues.map(boundedIssue)),
      },
    });
  }
  const pack = parsed.data;
  if (builtinPacks().has(pack.name)) throw conflict(`Pack ${pack.name} is a built-in pack's name`, 'name');
  const custom = await loadOrgDetections(env, principal.orgId);
  const known = new Set([...builtinRules(), ...custom.rules].map((r) => r.id));
  const unknown = pack.rules.filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', {
      message: `Unknown detection rule ${JSON.stringify(unknown[0])} in the pack`,
      details: { location: 'body', path: 'rules', unknown },
    });
  }
  return pack;
}

/** Saves a custom pack: its name may not shadow a built-in pack, its rule ids must exist. */
export async function createPack(env: Env_, principal: Principal, input: unknown) {
  requirePermission(principal, 'policies:write');
  const pack = await checkedPack(env, principal, input);
  const [now, id, limit] = [Date.now(), randomId('dpk_'), COUNT_LIMITS.detectionPacks];
  let inserted: D1Result | undefined;
  try {
    [inserted] = await env.DB.batch([
      insertBelowCap(
        env.DB,
        limit,
        [principal.orgId],
        'INSERT INTO detection_packs (id, org_id, name, pack, created_by, created_at, updated_at)',
        [id, principal.orgId, pack.name, JSON.stringify(pack), principal.userId, now, now],
      ),
      adminAuditStatementIf(
        env.DB,
        principal,
        {
          action: 'detection_pack.create',
          details: { pack: pack.name, rules: pack.rules.length, categories: pack.categories },
        },
        rowExists('detection_packs', id),
      ),
    ]);
  } catch (err) {
    if (String(err).includes('UNIQUE')) throw conflict(`A custom pack ${pack.name} already exists`, 'name');
    throw err;
  }
  requireInserted(inserted, limit);
  invalidateOrgDetections(principal.orgId);
  return packSummary(pack, true);
}

/** Replaces a custom pack (same checks as createPack); its name cannot change. */
export async function updatePack(env: Env_, principal: Principal, name: string, input: unknown) {
  requirePermission(principal, 'policies:write');
  // Another organization's pack is as missing as one that never was.
  await storedPackForChange(env, principal, name);
  const pack = await checkedPack(env, principal, input);
  if (pack.name !== name) {
    throw new AppError('validation_failed', {
      message: 'Pack refused: the name of a saved pack cannot change (create a new pack instead)',
      details: { location: 'body', path: 'name' },
    });
  }
  await requirePackReach(env, principal, name);
  await env.DB.batch([
    env.DB.prepare('UPDATE detection_packs SET pack = ?, updated_at = ? WHERE org_id = ? AND name = ?').bind(
      JSON.stringify(pack),
      Date.now(),
      principal.orgId,
      name,
    ),
    adminAuditStatement(env.DB, principal, {
      action: 'detection_pack.update',
      details: { pack: pack.name, rules: pack.rules.length, categories: pack.categories },
    }),
  ]);
  invalidateOrgDetections(principal.orgId);
  return packSummary(pack, true);
}

/** Deletes a custom pack no connection applies (one that is applied: 409 naming the connections). */
export async function deletePack(env: Env_, principal: Principal, name: string): Promise<void> {
  requirePermission(principal, 'policies:write');
  // Only its creator (or an `all` grant); a pack any connection applies is refused below anyway.
  await storedPackForChange(env, principal, name);
  const users = await env.DB.prepare(
    `SELECT c.slug FROM connections c, json_each(c.settings, '$.inspection.packs') p
     WHERE c.org_id = ? AND p.value = ?`,
  )
    .bind(principal.orgId, name)
    .all<{ slug: string }>();
  const slugs = users.results.map((r) => r.slug);
  if (slugs.length > 0) {
    throw new AppError('conflict', {
      message: `Pack ${name} is applied by ${slugs.length} connection(s): remove it from their settings first`,
      details: { location: 'path', path: 'name', connections: slugs },
    });
  }
  await env.DB.batch([
    env.DB.prepare('DELETE FROM detection_packs WHERE org_id = ? AND name = ?').bind(principal.orgId, name),
    adminAuditStatement(env.DB, principal, { action: 'detection_pack.delete', details: { pack: name } }),
  ]);
  invalidateOrgDetections(principal.orgId);
}
