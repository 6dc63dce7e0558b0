/**
 * The per-organization governance snapshot (governance.cache.ts loads it) and the pure questions
 * the call core asks it: a call's teams and the budgets it falls under. No I/O.
 */
import type { BudgetConfig } from '../../durable-objects/budget.contract';
import type { BudgetScope } from '../db/schema';
import type { TracingTarget } from '../tracing/trace.call';

export interface TeamRef {
  id: string;
  name: string;
}

export interface GovernedBudget extends BudgetConfig {
  name: string;
  scope: BudgetScope;
  scopeRef: string | null;
}

export interface GovernedAssignment {
  assignmentId: string;
  promptId: string;
  promptName: string;
  version: number;
  text: string;
  textHash: string;
  target: 'connection' | 'team';
  targetId: string;
  priority: number;
  mode: 'prepend' | 'replace';
}

export interface Governance {
  orgName: string;
  teams: Map<string, TeamRef>;
  /** `<kind>:<ref>` → team ids. */
  memberships: Map<string, string[]>;
  budgets: GovernedBudget[];
  assignments: GovernedAssignment[];
  /** Where the organization's traces go (workers/tracing/), null when it does not trace. */
  tracing: TracingTarget | null;
}

/** Who a call is, for teams and budgets. */
export interface CallSubject {
  apiKeyId: string | null;
  /** The member behind the key (teams list people by user id). */
  userId: string | null;
  /** The X-Igris-User value (or the OpenAI `user` field). */
  user: string | null;
}

/** A call's teams: its key's, its member's and its X-Igris-User value's, each once. Pure. */
export function teamsOf(gov: Governance, subject: CallSubject): TeamRef[] {
  const ids = new Set<string>();
  const add = (key: string) => {
    for (const id of gov.memberships.get(key) ?? []) ids.add(id);
  };
  if (subject.apiKeyId) add(`api_key:${subject.apiKeyId}`);
  if (subject.userId) add(`user:${subject.userId}`);
  if (subject.user) add(`external_user:${subject.user}`);
  return [...ids].flatMap((id) => {
    const team = gov.teams.get(id);
    return team ? [team] : [];
  });
}

/** The budgets a call falls under. Pure. */
export function budgetsOf(
  gov: Governance,
  subject: CallSubject,
  teams: readonly TeamRef[],
): GovernedBudget[] {
  const teamIds = new Set(teams.map((t) => t.id));
  return gov.budgets.filter((b) => {
    if (b.scope === 'org') return true;
    if (b.scopeRef === null) return false;
    if (b.scope === 'team') return teamIds.has(b.scopeRef);
    if (b.scope === 'api_key') return b.scopeRef === subject.apiKeyId;
    return b.scopeRef === subject.user;
  });
}
