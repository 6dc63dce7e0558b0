/**
 * Which governed system prompt a call gets (pure): only ONE — the applicable assignment with the
 * highest priority; at equal priority a team assignment beats a connection assignment; then the
 * prompt name decides, so the choice never depends on row order.
 */
import type { GovernedAssignment, TeamRef } from '../governance/governance.types';

export interface SelectedPrompt extends GovernedAssignment {
  /** The team whose assignment won (null for a connection assignment). */
  team: TeamRef | null;
}

export function selectPrompt(
  assignments: readonly GovernedAssignment[],
  connectionId: string,
  teams: readonly TeamRef[],
): SelectedPrompt | null {
  const byId = new Map(teams.map((t) => [t.id, t]));
  let best: SelectedPrompt | null = null;
  for (const a of assignments) {
    const team = a.target === 'team' ? (byId.get(a.targetId) ?? null) : null;
    if (a.target === 'team' ? team === null : a.targetId !== connectionId) continue;
    const candidate = { ...a, team };
    if (best === null || beats(candidate, best)) best = candidate;
  }
  return best;
}

function beats(a: SelectedPrompt, b: SelectedPrompt): boolean {
  if (a.priority !== b.priority) return a.priority > b.priority;
  if (a.target !== b.target) return a.target === 'team';
  return a.promptName < b.promptName;
}
