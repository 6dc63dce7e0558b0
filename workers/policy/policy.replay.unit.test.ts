import { describe, expect, it } from 'vitest';
import { compilePolicy } from './policy.evaluate.js';
import { type ReplayRow, replay } from './policy.replay.js';
import { parsePolicy } from './policy.schema.js';

function compiled(rules: unknown[]) {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, 0);
}

let n = 0;
function row(tool: string, action: string, user: string | null, extra: Partial<ReplayRow> = {}): ReplayRow {
  return {
    id: `r${++n}`,
    tool,
    user,
    apiKeyId: 'key_1',
    metadata: null,
    model: null,
    action,
    ruleIndex: 0,
    createdAt: 0,
    ...extra,
  };
}

describe('replay', () => {
  it('reports exactly the decisions that would flip, by rule and by caller', () => {
    const rows = [
      row('echo', 'allow', 'alice'),
      row('echo', 'allow', 'bob'),
      row('add', 'allow', 'alice'),
      row('delete_all', 'deny', 'alice'),
      row('whoami', 'allow', null, { metadata: { role: 'admin' } }),
    ];
    const result = replay(
      compiled([
        { tool: 'echo', action: 'deny', conditions: { user: 'bob' } },
        { tool: 'whoami', action: 'allow', conditions: { 'metadata.role': 'admin' } },
        { tool: 'echo', action: 'allow' },
      ]),
      rows,
    );
    expect(result).toMatchObject({
      evaluated: 5,
      changed: 2,
      byRule: { '0': 1, default: 1 },
      byCaller: { bob: 1, alice: 1 },
    });
    expect(result.examples.map((e) => [e.tool, e.caller, e.before.action, e.after.action])).toEqual([
      ['echo', 'bob', 'allow', 'deny'],
      ['add', 'alice', 'allow', 'deny'],
    ]);
  });

  it("reads a held call (approval_required) and a consumed approval as the policy's approve", () => {
    const rows = [
      row('transfer', 'approval_required', 'alice'),
      row('transfer', 'approve', 'bob'),
      row('pay', 'allow', 'carol'),
    ];
    const result = replay(
      compiled([
        { tool: 'transfer', action: 'approve' },
        { tool: 'pay', action: 'approve' },
      ]),
      rows,
    );
    expect(result.changed).toBe(1);
    expect(result.examples.map((e) => [e.tool, e.before.action, e.after.action])).toEqual([
      ['pay', 'allow', 'approve'],
    ]);
  });

  it('counts rows whose rules read fields audit rows do not keep', () => {
    const result = replay(
      compiled([{ tool: 'echo', action: 'allow', conditions: { 'args.message': { maxLength: 5 } } }]),
      [row('echo', 'allow', 'alice')],
    );
    expect(result).toMatchObject({ changed: 1, unknownFields: 1 });
  });

  it('rows decided by session taint are counted apart, never reported as changed', () => {
    const result = replay(compiled([{ tool: 'send_email', action: 'allow' }]), [
      row('send_email', 'deny', 'alice', { taint: true }),
      row('send_email', 'approval_required', 'alice', { taint: true }),
      row('send_email', 'allow', 'alice'),
    ]);
    expect(result).toMatchObject({ evaluated: 1, changed: 0, sessionTaint: 2, examples: [] });
  });

  it('evaluates args.* conditions on recorded arguments: exactly the rows whose arguments match flip', () => {
    const rows = [
      row('transfer', 'allow', 'alice', { args: { amount: 50 } }),
      row('transfer', 'allow', 'alice', { args: { amount: 5000 } }),
      row('transfer', 'allow', 'bob', { args: { amount: 20_000 } }),
      // Not recorded (a connection without logContent): the args rule is skipped, and counted.
      row('transfer', 'allow', 'bob'),
    ];
    const result = replay(
      compiled([
        { tool: 'transfer', action: 'deny', conditions: { 'args.amount': { gt: 1000 } } },
        { tool: '*', action: 'allow' },
      ]),
      rows,
    );
    expect(result.changed).toBe(2);
    expect(result.examples.map((e) => e.id)).toEqual([rows[1]!.id, rows[2]!.id]);
    expect(result.byCaller).toEqual({ alice: 1, bob: 1 });
    expect(result.unknownFields).toBe(1);
  });
});
