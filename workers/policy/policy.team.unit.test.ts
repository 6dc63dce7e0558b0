import { describe, expect, it } from 'vitest';
import { compilePolicy, evaluate } from './policy.evaluate';
import { parsePolicy } from './policy.schema';

function compiled(conditions: Record<string, unknown>) {
  const parsed = parsePolicy({
    rules: [
      { tool: '*', action: 'deny', conditions },
      { tool: '*', action: 'allow' },
    ],
  });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed));
  return compilePolicy(parsed.policy, 1);
}

describe('`team` conditions', () => {
  it('eq / in / nin over the call’s teams (ids and names)', () => {
    const eq = compiled({ team: 'ops' });
    expect(evaluate(eq, { tool: 't', teams: ['tm_1', 'ops'] }).action).toBe('deny');
    expect(evaluate(eq, { tool: 't', teams: ['tm_2', 'dev'] }).action).toBe('allow');
    expect(evaluate(eq, { tool: 't' }).action).toBe('allow');
    const inList = compiled({ team: { in: ['ops', 'sec'] } });
    expect(evaluate(inList, { tool: 't', teams: ['sec'] }).action).toBe('deny');
    const nin = compiled({ team: { nin: ['ops'] } });
    expect(evaluate(nin, { tool: 't', teams: ['dev'] }).action).toBe('deny');
    expect(evaluate(nin, { tool: 't', teams: [] }).action).toBe('deny');
    expect(evaluate(nin, { tool: 't', teams: ['ops', 'dev'] }).action).toBe('allow');
  });
});
