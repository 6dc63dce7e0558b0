/**
 * Policy evaluation (pure), around the decision: the bounded candidate-rule cache, explain (why a
 * rule did or did not match), couldEverAllow (can any call of a tool be allowed), and approve rules
 * bound to one call.
 */
import { describe, expect, it } from 'vitest';
import { compile } from './policy.evaluate.fixtures.ts';
import { CANDIDATE_CACHE_LIMIT, couldEverAllow, evaluate } from './policy.evaluate.ts';
import { explain } from './policy.explain.ts';

describe('candidate cache', () => {
  it('is bounded and stays correct after eviction', () => {
    const policy = compile([
      { tool: 'tool_1*', action: 'deny' },
      { tool: 'tool_*', action: 'allow' },
    ]);
    for (let i = 0; i < CANDIDATE_CACHE_LIMIT * 2; i++) {
      const expected = String(i).startsWith('1') ? 'deny' : 'allow';
      expect(evaluate(policy, { tool: `tool_${i}` }).action).toBe(expected);
    }
    expect(policy.candidateCache.size).toBeLessThanOrEqual(CANDIDATE_CACHE_LIMIT);
    expect(evaluate(policy, { tool: 'tool_1' }).action).toBe('deny');
    expect(evaluate(policy, { tool: 'tool_2' }).action).toBe('allow');
  });

  it('does not cache very long names', () => {
    const policy = compile([{ tool: '*', action: 'allow' }]);
    const long = 'x'.repeat(10_000);
    expect(evaluate(policy, { tool: long }).matched).toBe(true);
    expect(policy.candidateCache.has(long)).toBe(false);
  });

  it('evaluates large policies (10,000 rules) correctly', () => {
    const rules: unknown[] = Array.from({ length: 9_999 }, (_, i) => ({
      tool: i % 3 === 0 ? `tool_${i}` : i % 3 === 1 ? `ns${i % 50}_*` : `*_${i}`,
      action: 'deny',
      conditions: { 'metadata.n': i },
    }));
    rules.push({ tool: '*', action: 'allow', conditions: {} });
    const policy = compile(rules);
    expect(evaluate(policy, { tool: 'tool_300', metadata: { n: 300 } })).toMatchObject({
      action: 'deny',
      ruleIndex: 300,
    });
    expect(evaluate(policy, { tool: 'tool_300', metadata: { n: 301 } })).toMatchObject({
      action: 'allow',
      ruleIndex: 9_999,
    });
    expect(evaluate(policy, { tool: 'ns1_x', metadata: { n: 9901 } })).toMatchObject({
      action: 'deny',
      ruleIndex: 9901,
    });
    expect(evaluate(policy, { tool: 'zz_9998', metadata: { n: 9998 } })).toMatchObject({
      action: 'deny',
      ruleIndex: 9998,
    });
  });
});

describe('explain', () => {
  const policy = compile([
    { tool: 'read_*', action: 'allow' },
    { tool: '*', action: 'deny', conditions: { 'metadata.role': { neq: 'admin' } } },
    { tool: '*', action: 'deny', conditions: { 'metadata.level': { in: [1, 'two', true] } } },
    { tool: '*', action: 'alert', conditions: { 'metadata.team': 'core' } },
    { tool: 'delete_*', action: 'allow', conditions: { user: 'alice', 'metadata.role': 'admin' } },
  ]);

  it('explains each rule up to and including the match', () => {
    const { decision, trace } = explain(policy, {
      tool: 'delete_repo',
      user: 'alice',
      metadata: { role: 'admin', team: {} },
    });
    expect(decision).toMatchObject({ action: 'allow', ruleIndex: 4 });
    expect(trace).toEqual([
      { ruleIndex: 0, matched: false, why: "tool 'delete_repo' does not match glob 'read_*'" },
      { ruleIndex: 1, matched: false, why: "condition metadata.role neq 'admin' failed: value is 'admin'" },
      { ruleIndex: 2, matched: false, why: 'condition metadata.level: field missing — rule skipped' },
      {
        ruleIndex: 3,
        matched: false,
        why: 'condition metadata.team: value is an object, not a string, number or boolean — rule skipped',
      },
      {
        ruleIndex: 4,
        matched: true,
        why: "tool 'delete_repo' matches glob 'delete_*' and all 2 conditions hold — allow",
      },
    ]);
  });

  it('formats in-lists and non-string values', () => {
    const { trace } = explain(policy, { tool: 'x', metadata: { role: 'admin', level: 3 } });
    expect(trace[2]?.why).toBe("condition metadata.level in [1, 'two', true] failed: value is 3");
  });

  it('explains a default deny over every rule', () => {
    const { decision, trace } = explain(policy, { tool: 'x', metadata: { role: 'admin', team: ['core'] } });
    expect(decision).toBe(policy.defaultDecision);
    expect(trace.map((entry) => entry.matched)).toEqual([false, false, false, false, false]);
    expect(trace[3]?.why).toContain('value is an array');
  });

  it('describes unconditional matches and escapes quotes', () => {
    const simple = compile([{ tool: "it's*", action: 'deny' }]);
    expect(explain(simple, { tool: "it's" }).trace).toEqual([
      { ruleIndex: 0, matched: true, why: "tool 'it\\'s' matches glob 'it\\'s*' and no conditions — deny" },
    ]);
    const one = compile([{ tool: '*', action: 'alert', conditions: { user: 'a' } }]);
    expect(explain(one, { tool: 't', user: 'a' }).trace[0]?.why).toBe(
      "tool 't' matches glob '*' and its condition holds — alert",
    );
  });

  it('truncates long values and long lists', () => {
    const many = Array.from({ length: 12 }, (_, i) => i);
    const p = compile([{ tool: '*', action: 'allow', conditions: { 'metadata.n': { in: many } } }]);
    const { trace } = explain(p, { tool: 'y'.repeat(200), metadata: { n: 99 } });
    expect(trace[0]?.why).toBe(
      'condition metadata.n in [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, … 2 more] failed: value is 99',
    );
    const q = compile([{ tool: 'a', action: 'allow' }]);
    expect(explain(q, { tool: 'y'.repeat(200) }).trace[0]?.why).toBe(
      `tool '${'y'.repeat(80)}…' does not match glob 'a'`,
    );
  });
});

describe('couldEverAllow', () => {
  it.each<[string, unknown[], string, boolean]>([
    ['no rules', [], 'x', false],
    ['unconditional allow', [{ tool: 'x', action: 'allow' }], 'x', true],
    ['alert counts as allowed', [{ tool: '*', action: 'alert' }], 'x', true],
    ['conditional allow', [{ tool: '*', action: 'allow', conditions: { user: 'a' } }], 'x', true],
    ['only deny rules', [{ tool: 'x', action: 'deny', conditions: { user: 'a' } }], 'x', false],
    [
      'unconditional deny shadows a later allow',
      [
        { tool: 'x*', action: 'deny' },
        { tool: 'x', action: 'allow' },
      ],
      'x',
      false,
    ],
    [
      'conditional deny does not shadow',
      [
        { tool: 'x*', action: 'deny', conditions: { 'metadata.env': 'prod' } },
        { tool: 'x', action: 'allow' },
      ],
      'x',
      true,
    ],
    [
      'a deny for another tool does not shadow',
      [
        { tool: 'y', action: 'deny' },
        { tool: '*', action: 'allow' },
      ],
      'x',
      true,
    ],
    [
      'allow before an unconditional deny',
      [
        { tool: 'x', action: 'allow', conditions: { user: 'a' } },
        { tool: '*', action: 'deny' },
      ],
      'x',
      true,
    ],
    ['allow for another tool only', [{ tool: 'y*', action: 'allow' }], 'x', false],
  ])('%s', (_name, rules, tool, expected) => {
    expect(couldEverAllow(compile(rules), tool)).toBe(expected);
  });
});

describe('approve (issue 22: approvals bound to one call)', () => {
  const rules = [
    {
      tool: 'transfer',
      action: 'approve',
      reason: 'over the limit',
      conditions: { 'args.amount': { gt: 1000 } },
    },
    { tool: 'transfer', action: 'allow' },
  ];

  it('is a first-match decision like the others, with its rule and reason', () => {
    const compiled = compile(rules);
    expect(evaluate(compiled, { tool: 'transfer', args: { amount: 5000 } })).toMatchObject({
      action: 'approve',
      matched: true,
      ruleIndex: 0,
      reason: 'over the limit',
    });
    expect(evaluate(compiled, { tool: 'transfer', args: { amount: 5 } })).toMatchObject({
      action: 'allow',
      ruleIndex: 1,
    });
  });

  it('keeps an approve-only tool listed: it can be called, with an approval', () => {
    expect(couldEverAllow(compile([{ tool: 'transfer', action: 'approve' }]), 'transfer')).toBe(true);
  });
});
