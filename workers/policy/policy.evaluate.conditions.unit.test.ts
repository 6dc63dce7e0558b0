/**
 * Policy evaluation (pure): rule ordering, first match wins, default deny, and every condition
 * operator on arguments and caller metadata.
 */
import { describe, expect, it } from 'vitest';
import { compile } from './policy.evaluate.fixtures.ts';
import { candidateRules, compilePolicy, evaluate, NO_MATCH_REASON } from './policy.evaluate.ts';
import { type Condition, parsePolicy } from './policy.schema.ts';

const META = { role: 'dev', team: { id: 7, name: 'core' }, env: 'prod' };

describe('evaluate — ordering and default deny', () => {
  it('denies by default when no rule matches', () => {
    const decision = evaluate(compile([{ tool: 'read_*', action: 'allow' }], 4), { tool: 'delete_repo' });
    expect(decision).toEqual({
      action: 'deny',
      matched: false,
      ruleIndex: null,
      reason: NO_MATCH_REASON,
      rateLimit: null,
      tokenLimit: null,
      tokenGuard: null,
      labels: null,
      cleanOf: null,
      policyVersion: 4,
    });
  });

  it('denies everything with an empty policy', () => {
    expect(evaluate(compile([]), { tool: 'x' })).toMatchObject({ action: 'deny', matched: false });
  });

  it('lets the first matching rule win', () => {
    const policy = compile([
      { tool: 'read_secret', action: 'deny', reason: 'secrets are off limits' },
      { tool: 'read_*', action: 'alert' },
      { tool: '*', action: 'allow' },
    ]);
    expect(evaluate(policy, { tool: 'read_secret' })).toMatchObject({
      action: 'deny',
      matched: true,
      ruleIndex: 0,
      reason: 'secrets are off limits',
    });
    expect(evaluate(policy, { tool: 'read_file' })).toMatchObject({
      action: 'alert',
      ruleIndex: 1,
      reason: null,
    });
    expect(evaluate(policy, { tool: 'write_file' })).toMatchObject({ action: 'allow', ruleIndex: 2 });
  });

  it('keeps first-match order across exact, prefixed and leading-wildcard globs', () => {
    const policy = compile([
      { tool: '*_file', action: 'alert' },
      { tool: 'read_*', action: 'deny' },
      { tool: 'read_file', action: 'allow' },
    ]);
    expect(evaluate(policy, { tool: 'read_file' }).ruleIndex).toBe(0);
    expect(evaluate(policy, { tool: 'read_dir' }).ruleIndex).toBe(1);
    expect(Array.from(candidateRules(policy, 'read_file'))).toEqual([0, 1, 2]);
  });

  it('returns the rule rate limit and the policy version', () => {
    const rateLimit = { limit: 5, windowSeconds: 60, by: 'metadata.team.id' };
    const decision = evaluate(compile([{ tool: '*', action: 'allow', rateLimit }], 9), { tool: 't' });
    expect(decision.rateLimit).toEqual(rateLimit);
    expect(decision.policyVersion).toBe(9);
  });

  it('returns frozen, shared decisions (no per-call allocation)', () => {
    const policy = compile([
      { tool: '*', action: 'allow', rateLimit: { limit: 1, windowSeconds: 1, by: 'user' } },
    ]);
    const first = evaluate(policy, { tool: 'a' });
    expect(evaluate(policy, { tool: 'b' })).toBe(first);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.rateLimit)).toBe(true);
    expect(Object.isFrozen(evaluate(compile([]), { tool: 'a' }))).toBe(true);
  });

  it('does not alias the source policy', () => {
    const parsed = parsePolicy({
      rules: [{ tool: '*', action: 'allow', rateLimit: { limit: 1, windowSeconds: 1, by: 'user' } }],
    });
    if (!parsed.ok) throw new Error('invalid');
    const compiled = compilePolicy(parsed.policy, 1);
    parsed.policy.rules[0]!.rateLimit!.limit = 99;
    expect(evaluate(compiled, { tool: 'x' }).rateLimit?.limit).toBe(1);
  });
});

describe('evaluate — conditions', () => {
  it('skips (does not deny on) a rule whose condition field is missing', () => {
    const policy = compile([
      { tool: '*', action: 'deny', conditions: { 'metadata.role': 'intern' } },
      { tool: '*', action: 'allow' },
    ]);
    expect(evaluate(policy, { tool: 'x' })).toMatchObject({ action: 'allow', ruleIndex: 1 });
    expect(evaluate(policy, { tool: 'x', metadata: {} })).toMatchObject({ action: 'allow', ruleIndex: 1 });
    expect(evaluate(policy, { tool: 'x', metadata: { role: 'intern' } })).toMatchObject({
      action: 'deny',
      ruleIndex: 0,
    });
  });

  it('a missing field never satisfies neq/nin either', () => {
    const policy = compile([
      { tool: '*', action: 'allow', conditions: { 'metadata.role': { neq: 'admin' } } },
      { tool: '*', action: 'alert', conditions: { user: { nin: ['mallory'] } } },
    ]);
    expect(evaluate(policy, { tool: 'x' })).toMatchObject({ action: 'deny', matched: false });
    expect(evaluate(policy, { tool: 'x', user: 'bob' })).toMatchObject({ action: 'alert', ruleIndex: 1 });
  });

  it('reads user from request.user (null and undefined are missing; empty string is present)', () => {
    const policy = compile([{ tool: '*', action: 'allow', conditions: { user: { neq: 'mallory' } } }]);
    expect(evaluate(policy, { tool: 'x', user: 'alice' }).matched).toBe(true);
    expect(evaluate(policy, { tool: 'x', user: 'mallory' }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x', user: null }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x' }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x', user: '' }).matched).toBe(true);
  });

  it('looks metadata paths up through nested plain objects', () => {
    const policy = compile([
      {
        tool: '*',
        action: 'allow',
        conditions: { 'metadata.team.id': 7, 'metadata.team.name': { in: ['core', 'edge'] } },
      },
    ]);
    expect(evaluate(policy, { tool: 'x', metadata: META }).matched).toBe(true);
    expect(evaluate(policy, { tool: 'x', metadata: { team: { id: 7 } } }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x', metadata: { team: 'core' } }).matched).toBe(false);
    expect(evaluate(policy, { tool: 'x', metadata: null }).matched).toBe(false);
  });

  it('supports three levels below metadata', () => {
    const policy = compile([{ tool: '*', action: 'allow', conditions: { 'metadata.a.b.c': true } }]);
    expect(evaluate(policy, { tool: 'x', metadata: { a: { b: { c: true } } } }).matched).toBe(true);
    expect(evaluate(policy, { tool: 'x', metadata: { a: { b: { c: 'true' } } } }).matched).toBe(false);
  });

  it('never traverses arrays or inherited properties', () => {
    const policy = compile([
      { tool: 'arr', action: 'allow', conditions: { 'metadata.list.0': 'a' } },
      { tool: 'len', action: 'allow', conditions: { 'metadata.list.length': 1 } },
      { tool: 'proto', action: 'allow', conditions: { 'metadata.constructor': { neq: 'x' } } },
      { tool: 'proto2', action: 'allow', conditions: { 'metadata.role.length': 3 } },
    ]);
    const metadata = { list: ['a'], role: 'dev' };
    for (const tool of ['arr', 'len', 'proto', 'proto2']) {
      expect(evaluate(policy, { tool, metadata }).matched).toBe(false);
    }
    class NotPlain {
      role = 'dev';
    }
    const viaClass = compile([{ tool: '*', action: 'allow', conditions: { 'metadata.x.role': 'dev' } }]);
    expect(evaluate(viaClass, { tool: 't', metadata: { x: new NotPlain() } }).matched).toBe(false);
    const nullProto = Object.assign(Object.create(null) as Record<string, unknown>, { role: 'dev' });
    expect(evaluate(viaClass, { tool: 't', metadata: { x: nullProto } }).matched).toBe(true);
  });

  it('compares scalars strictly (no coercion)', () => {
    const cases: Array<[Condition, unknown, boolean]> = [
      [1, '1', false],
      ['1', 1, false],
      [1, 1, true],
      [true, 'true', false],
      [true, 1, false],
      [false, 0, false],
      [0, false, false],
      ['', 0, false],
      [0, -0, true],
      [{ in: [1, 'a'] }, '1', false],
      [{ in: [1, 'a'] }, 1, true],
      [{ in: [true] }, 'true', false],
      [{ nin: [1] }, '1', true],
      [{ nin: [1] }, 1, false],
      [{ neq: 1 }, '1', true],
      [{ neq: 'a' }, 'a', false],
      [{ eq: 'A' }, 'a', false],
    ];
    for (const [condition, value, expected] of cases) {
      const policy = compile([{ tool: '*', action: 'allow', conditions: { 'metadata.v': condition } }]);
      expect(
        evaluate(policy, { tool: 't', metadata: { v: value } }).matched,
        JSON.stringify([condition, value]),
      ).toBe(expected);
    }
  });

  it('treats non-scalar values (object, array, null) as failing every operator', () => {
    const operators: Condition[] = ['x', { eq: 'x' }, { neq: 'x' }, { in: ['x'] }, { nin: ['x'] }];
    for (const condition of operators) {
      const policy = compile([{ tool: '*', action: 'allow', conditions: { 'metadata.v': condition } }]);
      for (const v of [{ x: 1 }, ['x'], null, {}]) {
        expect(evaluate(policy, { tool: 't', metadata: { v } }).matched).toBe(false);
      }
    }
  });

  it('requires every condition of a rule to hold', () => {
    const policy = compile([
      {
        tool: '*',
        action: 'allow',
        conditions: { user: 'alice', 'metadata.role': { in: ['dev', 'admin'] } },
      },
    ]);
    expect(evaluate(policy, { tool: 't', user: 'alice', metadata: META }).matched).toBe(true);
    expect(evaluate(policy, { tool: 't', user: 'bob', metadata: META }).matched).toBe(false);
    expect(evaluate(policy, { tool: 't', user: 'alice', metadata: { role: 'guest' } }).matched).toBe(false);
  });

  it('never reuses a field value from a previous request', () => {
    const policy = compile([
      { tool: '*', action: 'deny', conditions: { 'metadata.role': 'intern' } },
      { tool: '*', action: 'alert', conditions: { 'metadata.role': { neq: 'intern' } } },
      { tool: '*', action: 'allow' },
    ]);
    expect(evaluate(policy, { tool: 'a', metadata: { role: 'intern' } }).ruleIndex).toBe(0);
    expect(evaluate(policy, { tool: 'a', metadata: { role: 'dev' } }).ruleIndex).toBe(1);
    expect(evaluate(policy, { tool: 'a' }).ruleIndex).toBe(2);
    expect(evaluate(policy, { tool: 'a', metadata: { role: 'intern' } }).ruleIndex).toBe(0);
  });

  it('governs resources and prompts through their namespaced names', () => {
    const policy = compile([
      { tool: 'resource:file:///secrets/*', action: 'deny' },
      { tool: 'resource:*', action: 'allow' },
      { tool: 'prompt:summarize', action: 'alert' },
    ]);
    expect(evaluate(policy, { tool: 'resource:file:///secrets/key' }).action).toBe('deny');
    expect(evaluate(policy, { tool: 'resource:file:///readme' }).action).toBe('allow');
    expect(evaluate(policy, { tool: 'prompt:summarize' }).action).toBe('alert');
    expect(evaluate(policy, { tool: 'prompt:other' }).matched).toBe(false);
  });
});
