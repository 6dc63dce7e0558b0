/** Per-team access to an A2A agent: by team id only, and over whatever the policy decided. */
import { describe, expect, it } from 'vitest';
import { AppError } from '../lib/errors';
import { type A2aUnit, teamAccessStage } from './a2a.stages';
import type { StageCall, UnitDecision } from './gateway.stages';

const unit = (allowedTeams: string[]): A2aUnit => ({
  message: { jsonrpc: '2.0', id: 1, method: 'SendMessage', params: {} },
  method: 'SendMessage',
  canonical: 'SendMessage',
  skill: 'echo',
  taskId: null,
  addressed: null,
  contexts: null,
  allowedTeams,
});

function run(allowedTeams: string[], teams: { id: string; name: string }[], refusal: AppError | null = null) {
  const call = { teams } as unknown as StageCall;
  const decision: UnitDecision<A2aUnit> = { unit: unit(allowedTeams), tool: 'echo', decision: null, refusal };
  return teamAccessStage(call, [decision])[0]!;
}

describe('A2A access by team', () => {
  it('lets every caller through when no team is listed, and members of a listed team', () => {
    expect(run([], []).refusal).toBeNull();
    expect(run(['team_a'], [{ id: 'team_a', name: 'Research' }]).refusal).toBeNull();
  });

  it('refuses a caller of no listed team — a team whose *name* spells a listed id does not count', () => {
    const refused = run(['team_a'], [{ id: 'team_b', name: 'team_a' }]);
    expect(refused.refusal?.code).toBe('connection_forbidden');
    expect(refused.refusal?.details).toEqual({ reason: 'team_access' });
  });

  it('wins over a policy denial, so the caller learns nothing about the policy', () => {
    const denied = new AppError('policy_denied');
    expect(run(['team_a'], [], denied).refusal?.code).toBe('connection_forbidden');
  });
});
