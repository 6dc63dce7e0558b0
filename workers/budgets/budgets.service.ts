/**
 * Budgets (table `budgets`; counters in BudgetCounter Durable Objects, budget-counter.do.ts).
 * Every statement is scoped to the caller's organization; a budget on another organization's team
 * or key is "not found" and nothing is written. Reads need `connections:read`; changes `org:write`
 * (owners, admins), audited in the same batch. A change drops this isolate's governance snapshot.
 */

import type { BudgetConfig, BudgetSnapshot } from '../../durable-objects/budget.contract';
import { budgetCounterFor } from '../../durable-objects/do.client';
import type { Principal } from '../app.types';
import { adminAuditStatement, adminAuditStatementIf } from '../audit/audit.admin';
import { requirePermission } from '../auth/permissions';
import { invalidateGovernance } from '../governance/governance.cache';
import { AppError } from '../lib/errors';
import { randomId } from '../lib/ids';
import { changedFields } from '../lib/patch.changes';
import { iso } from '../lib/values';
import { COUNT_LIMITS, insertBelowCap, requireInserted, rowExists } from '../shared/count.limits';
import { readTeam } from '../teams/teams.service';
import {
  type BudgetDto,
  type BudgetStatusDto,
  type CreateBudgetInput,
  type DbScope,
  SCOPE_FROM_DB,
  SCOPE_TO_DB,
  type UpdateBudgetInput,
} from './budgets.schemas';

export interface BudgetRow {
  id: string;
  org_id: string;
  name: string;
  scope: DbScope;
  scope_ref: string | null;
  limit_usd: number;
  warn_at_percent: number;
  enforcement: 'block' | 'warn';
  reset_day: number;
  timezone: string;
  created_at: number;
  updated_at: number;
}

const dto = (b: BudgetRow): BudgetDto => ({
  id: b.id,
  name: b.name,
  scope: SCOPE_FROM_DB[b.scope],
  scopeRef: b.scope_ref,
  limitUsd: b.limit_usd,
  warnAtPercent: b.warn_at_percent,
  enforcement: b.enforcement,
  resetDay: b.reset_day,
  timezone: b.timezone,
  createdAt: iso(b.created_at)!,
  updatedAt: iso(b.updated_at)!,
});

/** What a budget's counter needs to know about it (also read by the metrics scrape). */
export const budgetConfig = (b: BudgetRow): BudgetConfig => ({
  budgetId: b.id,
  orgId: b.org_id,
  limitUsd: b.limit_usd,
  warnAtPercent: b.warn_at_percent,
  enforcement: b.enforcement,
  resetDay: b.reset_day,
  timezone: b.timezone,
});

export const statusDto = (s: BudgetSnapshot): BudgetStatusDto => ({
  spentUsd: s.spentUsd,
  reservedUsd: s.reservedUsd,
  inFlight: s.inFlight,
  remainingUsd: s.remainingUsd,
  percent: s.percent,
  periodStart: iso(s.periodStart)!,
  periodEnd: iso(s.periodEnd)!,
  warned: s.warned,
});

async function readBudget(db: D1Database, orgId: string, id: string): Promise<BudgetRow> {
  const row = await db
    .prepare('SELECT * FROM budgets WHERE org_id = ? AND id = ?')
    .bind(orgId, id)
    .first<BudgetRow>();
  if (!row)
    throw new AppError('not_found', {
      message: 'Budget not found',
      details: { location: 'path', path: 'id' },
    });
  return row;
}

/** The scope's target must be the organization's own (a team or key elsewhere is "not found"). */
async function checkScope(db: D1Database, orgId: string, input: CreateBudgetInput): Promise<void> {
  if (input.scope === 'team') await readTeam(db, orgId, input.scopeRef!, 'scopeRef');
  if (input.scope === 'apiKey') {
    const key = await db
      .prepare('SELECT 1 AS ok FROM api_keys WHERE org_id = ? AND id = ?')
      .bind(orgId, input.scopeRef!)
      .first();
    if (!key)
      throw new AppError('not_found', {
        message: 'API key not found',
        details: { location: 'body', path: 'scopeRef' },
      });
  }
}

export async function listBudgets(
  env: Env,
  principal: Principal,
): Promise<(BudgetDto & { status: BudgetStatusDto | null })[]> {
  requirePermission(principal, 'connections:read');
  const { results } = await env.DB.prepare('SELECT * FROM budgets WHERE org_id = ? ORDER BY created_at')
    .bind(principal.orgId)
    .all<BudgetRow>();
  return Promise.all(
    results.map(async (b) => ({
      ...dto(b),
      status: await budgetCounterFor(env, b.id)
        .status(budgetConfig(b))
        .then(statusDto)
        .catch(() => null),
    })),
  );
}

export async function getBudget(env: Env, principal: Principal, id: string) {
  requirePermission(principal, 'connections:read');
  const row = await readBudget(env.DB, principal.orgId, id);
  const counter = budgetCounterFor(env, id);
  const [status, history] = await Promise.all([
    counter.status(budgetConfig(row)),
    counter.history(budgetConfig(row)),
  ]);
  return {
    ...dto(row),
    status: statusDto(status),
    history: history.map((h) => ({
      periodStart: iso(h.periodStart)!,
      periodEnd: iso(h.periodEnd)!,
      spentUsd: h.spentUsd,
      closedBy: h.closedBy,
    })),
  };
}

export async function createBudget(
  env: Env,
  principal: Principal,
  input: CreateBudgetInput,
): Promise<BudgetDto> {
  requirePermission(principal, 'org:write');
  await checkScope(env.DB, principal.orgId, input);
  const id = randomId('bdg');
  const [inserted] = await env.DB.batch([
    insertBelowCap(
      env.DB,
      COUNT_LIMITS.budgets,
      [principal.orgId],
      `INSERT INTO budgets (id, org_id, name, scope, scope_ref, limit_usd, warn_at_percent, enforcement, reset_day,
         timezone, created_by, updated_at)`,
      [
        id,
        principal.orgId,
        input.name ?? '',
        SCOPE_TO_DB[input.scope],
        input.scopeRef ?? null,
        input.limitUsd,
        input.warnAtPercent,
        input.enforcement,
        input.resetDay,
        input.timezone,
        principal.actor,
        Date.now(),
      ],
    ),
    adminAuditStatementIf(
      env.DB,
      principal,
      {
        action: 'budget.create',
        details: {
          budgetId: id,
          scope: input.scope,
          scopeRef: input.scopeRef ?? null,
          limitUsd: input.limitUsd,
        },
      },
      rowExists('budgets', id),
    ),
  ]);
  requireInserted(inserted, COUNT_LIMITS.budgets);
  invalidateGovernance(principal.orgId);
  return dto(await readBudget(env.DB, principal.orgId, id));
}

export async function updateBudget(
  env: Env,
  principal: Principal,
  id: string,
  input: UpdateBudgetInput,
): Promise<BudgetDto> {
  requirePermission(principal, 'org:write');
  const b = await readBudget(env.DB, principal.orgId, id);
  const changed = changedFields(input, {
    name: b.name,
    limitUsd: b.limit_usd,
    warnAtPercent: b.warn_at_percent,
    enforcement: b.enforcement,
    resetDay: b.reset_day,
    timezone: b.timezone,
  }).map((k) => [k, input[k]] as const);
  // Nothing differs: nothing is written, and no row records a change that did not happen.
  if (changed.length === 0) return dto(b);
  await env.DB.batch([
    env.DB.prepare(
      `UPDATE budgets SET name = ?, limit_usd = ?, warn_at_percent = ?, enforcement = ?, reset_day = ?, timezone = ?,
         updated_at = ? WHERE org_id = ? AND id = ?`,
    ).bind(
      input.name ?? b.name,
      input.limitUsd ?? b.limit_usd,
      input.warnAtPercent ?? b.warn_at_percent,
      input.enforcement ?? b.enforcement,
      input.resetDay ?? b.reset_day,
      input.timezone ?? b.timezone,
      Date.now(),
      principal.orgId,
      id,
    ),
    adminAuditStatement(env.DB, principal, {
      action: 'budget.update',
      details: { budgetId: id, ...Object.fromEntries(changed) },
    }),
  ]);
  invalidateGovernance(principal.orgId);
  return dto(await readBudget(env.DB, principal.orgId, id));
}

export async function deleteBudget(env: Env, principal: Principal, id: string): Promise<void> {
  requirePermission(principal, 'org:write');
  await readBudget(env.DB, principal.orgId, id);
  await env.DB.batch([
    env.DB.prepare('DELETE FROM budgets WHERE org_id = ? AND id = ?').bind(principal.orgId, id),
    adminAuditStatement(env.DB, principal, { action: 'budget.delete', details: { budgetId: id } }),
  ]);
  invalidateGovernance(principal.orgId);
}

/**
 * Manual reset (audited): the period so far is closed in the history, spent back to zero.
 *
 * The counter is a Durable Object, which no D1 transaction spans: the audit row is written FIRST,
 * then the counter reset. A failed audit write resets nothing and the call answers an error. (The
 * other order lost the record: reset done, write failed, and a repeat recorded `spentUsd` 0.) Should
 * the reset fail after the row is written, the call answers an error (never 2xx) and the row stands
 * for a reset asked for; a repeat resets and writes its own row.
 */
export async function resetBudget(env: Env, principal: Principal, id: string): Promise<BudgetStatusDto> {
  requirePermission(principal, 'org:write');
  const row = await readBudget(env.DB, principal.orgId, id);
  const before = await budgetCounterFor(env, id).status(budgetConfig(row));
  await adminAuditStatement(env.DB, principal, {
    action: 'budget.reset',
    details: { budgetId: id, spentUsd: before.spentUsd, periodStart: iso(before.periodStart) },
  }).run();
  return statusDto(await budgetCounterFor(env, id).reset(budgetConfig(row)));
}
