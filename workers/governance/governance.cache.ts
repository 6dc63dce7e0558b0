/**
 * What the gateway needs on every call about an organization's teams, budgets and system-prompt
 * assignments, loaded in ONE D1 batch and kept in the isolate's memory for POLICY_CACHE_TTL_MS
 * (default 10 s) — the same bound as compiled policies (policy.store.ts).
 *
 * Why a per-organization snapshot rather than a lookup per call: a call's teams depend on its key,
 * its member and its X-Igris-User value, the last of which the key lookup cannot know; one batch
 * per organization per TTL costs nothing per call, and membership, budget and prompt changes are
 * rare. An edit made through the API invalidates this isolate's copy at once
 * (`invalidateGovernance`); other isolates at their next call, through the configuration epoch
 * (workers/config/config.epoch.ts; documented in
 * docs/budgets-and-prompts.md). Budget COUNTERS are never cached: they live in their Durable Object.
 */
import { orgConfigCache } from '../config/config.epoch';
import type { BudgetScope, TeamMemberKind } from '../db/schema';
import { type DbTracing, TRACING_SELECT, tracingTargetOf } from '../tracing/tracing.settings';
import type { Governance, TeamRef } from './governance.types';

export type { Governance, GovernedAssignment, GovernedBudget, TeamRef } from './governance.types';
export { budgetsOf, type CallSubject, teamsOf } from './governance.types';

const cache = orgConfigCache(readGovernance);

export function invalidateGovernance(orgId: string): void {
  cache.invalidate(orgId);
}

export function loadGovernance(
  env: Pick<Env, 'DB' | 'POLICY_CACHE_TTL_MS'>,
  orgId: string,
): Promise<Governance> {
  return cache.get(env, orgId);
}

interface BudgetDbRow {
  id: string;
  name: string;
  scope: BudgetScope;
  scope_ref: string | null;
  limit_usd: number;
  warn_at_percent: number;
  enforcement: 'block' | 'warn';
  reset_day: number;
  timezone: string;
}

interface AssignmentDbRow {
  id: string;
  prompt_id: string;
  name: string;
  version: number;
  text: string;
  text_hash: string;
  target: 'connection' | 'team';
  target_id: string;
  priority: number;
  mode: 'prepend' | 'replace';
}

async function readGovernance(db: D1Database, orgId: string): Promise<Governance> {
  const [org, teamRows, memberRows, budgetRows, assignmentRows, tracingRows] = await db.batch([
    db.prepare('SELECT name FROM organizations WHERE id = ?').bind(orgId),
    db.prepare('SELECT id, name FROM teams WHERE org_id = ?').bind(orgId),
    db.prepare('SELECT team_id, kind, ref FROM team_members WHERE org_id = ?').bind(orgId),
    db
      .prepare(
        `SELECT id, name, scope, scope_ref, limit_usd, warn_at_percent, enforcement, reset_day, timezone
         FROM budgets WHERE org_id = ?`,
      )
      .bind(orgId),
    db
      .prepare(
        `SELECT a.id, a.prompt_id, p.name, p.version, v.text, v.text_hash, a.target, a.target_id, a.priority, a.mode
         FROM system_prompt_assignments a
         JOIN system_prompts p ON p.id = a.prompt_id AND p.org_id = a.org_id
         JOIN system_prompt_versions v ON v.prompt_id = p.id AND v.version = p.version
         WHERE a.org_id = ?`,
      )
      .bind(orgId),
    // The organization's trace export (workers/tracing/): in this batch, so tracing adds no read per call.
    db.prepare(TRACING_SELECT).bind(orgId),
  ]);
  const teams = new Map<string, TeamRef>();
  for (const t of (teamRows!.results as TeamRef[]) ?? []) teams.set(t.id, { id: t.id, name: t.name });
  const memberships = new Map<string, string[]>();
  for (const m of memberRows!.results as { team_id: string; kind: TeamMemberKind; ref: string }[]) {
    const key = `${m.kind}:${m.ref}`;
    memberships.set(key, [...(memberships.get(key) ?? []), m.team_id]);
  }
  return {
    orgName: (org!.results[0] as { name: string } | undefined)?.name ?? '',
    teams,
    memberships,
    budgets: (budgetRows!.results as BudgetDbRow[]).map((b) => ({
      budgetId: b.id,
      orgId,
      name: b.name,
      scope: b.scope,
      scopeRef: b.scope_ref,
      limitUsd: b.limit_usd,
      warnAtPercent: b.warn_at_percent,
      enforcement: b.enforcement,
      resetDay: b.reset_day,
      timezone: b.timezone,
    })),
    assignments: (assignmentRows!.results as AssignmentDbRow[]).map((a) => ({
      assignmentId: a.id,
      promptId: a.prompt_id,
      promptName: a.name,
      version: a.version,
      text: a.text,
      textHash: a.text_hash,
      target: a.target,
      targetId: a.target_id,
      priority: a.priority,
      mode: a.mode,
    })),
    tracing: tracingTargetOf(tracingRows!.results[0] as DbTracing | undefined),
  };
}
