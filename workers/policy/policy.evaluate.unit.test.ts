import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  CANDIDATE_CACHE_LIMIT,
  type CompiledPolicy,
  candidateRules,
  compilePolicy,
  couldEverAllow,
  type EvaluationRequest,
  evaluate,
  NO_MATCH_REASON,
} from './policy.evaluate.ts';
import { explain } from './policy.explain.ts';
import { type Condition, type Policy, parsePolicy, type Rule, type Scalar } from './policy.schema.ts';

function compile(rules: unknown[], version = 1): CompiledPolicy {
  const parsed = parsePolicy({ rules });
  if (!parsed.ok) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.policy, version);
}

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

// -----------------------------------------------------------------------------------------------
// Property tests against an independent, deliberately naive reference implementation.
// -----------------------------------------------------------------------------------------------

function referenceGlob(glob: string, input: string): boolean {
  if (glob === '') return input === '';
  if (glob[0] === '*') {
    for (let i = 0; i <= input.length; i++) if (referenceGlob(glob.slice(1), input.slice(i))) return true;
    return false;
  }
  if (input === '') return false;
  return (glob[0] === '?' || glob[0] === input[0]) && referenceGlob(glob.slice(1), input.slice(1));
}

function referenceLookup(request: EvaluationRequest, field: string): { found: boolean; value: unknown } {
  if (field === 'user') return { found: request.user != null, value: request.user };
  let current: unknown = request.metadata;
  for (const key of field.split('.').slice(1)) {
    if (typeof current !== 'object' || current === null || Array.isArray(current))
      return { found: false, value: undefined };
    if (!Object.keys(current).includes(key)) return { found: false, value: undefined };
    current = (current as Record<string, unknown>)[key];
  }
  return { found: current !== undefined, value: current };
}

function referenceHolds(condition: Condition, value: unknown): boolean {
  if (!['string', 'number', 'boolean'].includes(typeof value)) return false;
  if (typeof condition !== 'object') return value === condition;
  if ('eq' in condition) return value === condition.eq;
  if ('neq' in condition) return value !== condition.neq;
  if ('in' in condition) return condition.in.some((candidate) => candidate === value);
  if ('nin' in condition) return !condition.nin.some((candidate) => candidate === value);
  throw new Error('the reference covers eq/neq/in/nin only (argument operators: policy.args.unit.test.ts)');
}

/** Tool glob (any name without one), model glob and endpoint list, by their plain definitions. */
function referenceTarget(rule: Rule, request: EvaluationRequest): boolean {
  if (rule.tool !== undefined && !referenceGlob(rule.tool, request.tool)) return false;
  if (rule.model !== undefined && (request.model == null || !referenceGlob(rule.model, request.model)))
    return false;
  if (rule.endpoint === undefined) return true;
  return request.endpoint != null && [rule.endpoint].flat().some((e) => e === request.endpoint);
}

function referenceDecide(
  rules: Rule[],
  request: EvaluationRequest,
): { action: string; ruleIndex: number | null } {
  for (const [index, rule] of rules.entries()) {
    if (!referenceTarget(rule, request)) continue;
    const conditionsHold = Object.entries(rule.conditions ?? {}).every(([field, condition]) => {
      const { found, value } = referenceLookup(request, field);
      return found && referenceHolds(condition, value);
    });
    if (conditionsHold) return { action: rule.action, ruleIndex: index };
  }
  return { action: 'deny', ruleIndex: null };
}

const valueArb: fc.Arbitrary<Scalar> = fc.constantFrom('a', 'b', '1', 1, 2, 0, true, false);
const conditionArb: fc.Arbitrary<Condition> = fc.oneof(
  valueArb,
  fc.record({ eq: valueArb }),
  fc.record({ neq: valueArb }),
  fc.record({ in: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
  fc.record({ nin: fc.array(valueArb, { minLength: 1, maxLength: 3 }) }),
);
const FIELDS = ['user', 'metadata.role', 'metadata.team.id', 'metadata.a.b.c'];
const globArb = fc.string({ unit: fc.constantFrom('a', 'b', '_', '*', '?'), minLength: 1, maxLength: 5 });
const ENDPOINTS = ['chat.completions', 'embeddings', 'messages'] as const;
const endpointArb = fc.constantFrom(...ENDPOINTS);
// Tool-only (MCP-style) rules, and LLM rules with a model glob and/or endpoints (tool optional).
const ruleArb: fc.Arbitrary<Rule> = fc.oneof(
  fc.record(
    {
      tool: globArb,
      action: fc.constantFrom('allow', 'deny', 'alert'),
      conditions: fc.dictionary(fc.constantFrom(...FIELDS), conditionArb, { maxKeys: 2 }),
    },
    { requiredKeys: ['tool', 'action'] },
  ),
  fc
    .record(
      {
        tool: globArb,
        model: globArb,
        endpoint: fc.oneof(endpointArb, fc.uniqueArray(endpointArb, { minLength: 1, maxLength: 2 })),
        action: fc.constantFrom('allow', 'deny', 'alert'),
        conditions: fc.dictionary(fc.constantFrom(...FIELDS), conditionArb, { maxKeys: 2 }),
      },
      { requiredKeys: ['action'] },
    )
    .filter((rule) => rule.tool !== undefined || rule.model !== undefined || rule.endpoint !== undefined),
);
const oddValueArb = fc.oneof(
  valueArb,
  fc.constant(null),
  fc.constant({}),
  fc.constant(['a']),
  fc.constant({ id: 1 }),
);
const metadataArb = fc.option(
  fc.record(
    {
      role: oddValueArb,
      team: fc.oneof(oddValueArb, fc.record({ id: oddValueArb }, { requiredKeys: [] })),
      a: fc.oneof(oddValueArb, fc.record({ b: fc.oneof(oddValueArb, fc.record({ c: oddValueArb })) })),
    },
    { requiredKeys: [] },
  ),
  { nil: undefined },
);
const requestArb: fc.Arbitrary<EvaluationRequest> = fc.record(
  {
    tool: fc.string({ unit: fc.constantFrom('a', 'b', '_'), maxLength: 4 }),
    model: fc.string({ unit: fc.constantFrom('a', 'b', '_'), maxLength: 4 }),
    endpoint: fc.constantFrom(...ENDPOINTS, 'passthrough'),
    user: fc.constantFrom('a', 'b', '1', ''),
    metadata: metadataArb,
  },
  { requiredKeys: ['tool'] },
);

function compileRules(rules: Rule[], version = 1): CompiledPolicy {
  const policy: Policy = { rules };
  return compilePolicy(policy, version);
}

describe('evaluate — properties', () => {
  it('(a) first match: agrees with the naive reference; explain agrees with evaluate', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 12 }),
        fc.array(requestArb, { minLength: 1, maxLength: 8 }),
        (rules, requests) => {
          const compiled = compileRules(rules);
          // Two passes: the second runs against a warm candidate cache.
          for (const request of [...requests, ...requests]) {
            const expected = referenceDecide(rules, request);
            const decision = evaluate(compiled, request);
            expect({ action: decision.action, ruleIndex: decision.ruleIndex }).toEqual(expected);
            expect(decision.matched).toBe(expected.ruleIndex !== null);
            expect(explain(compiled, request).decision).toBe(decision);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('(b) a rule conditioned on a field absent from the request never changes the decision', () => {
    const absentFieldArb = fc.constantFrom('metadata.absent', 'metadata.zz.y', 'metadata.q.r.s');
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        requestArb,
        fc.nat(),
        ruleArb,
        absentFieldArb,
        conditionArb,
        (rules, request, position, extra, absentField, condition) => {
          const at = position % (rules.length + 1);
          const inserted: Rule = { ...extra, conditions: { ...extra.conditions, [absentField]: condition } };
          const before = evaluate(compileRules(rules), request);
          const after = evaluate(
            compileRules([...rules.slice(0, at), inserted, ...rules.slice(at)]),
            request,
          );
          expect(after.action).toBe(before.action);
          expect(after.matched).toBe(before.matched);
          const shifted =
            before.ruleIndex !== null && before.ruleIndex >= at ? before.ruleIndex + 1 : before.ruleIndex;
          expect(after.ruleIndex).toBe(shifted);
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('(b) also holds for the user field when the request has no user', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        requestArb,
        fc.nat(),
        conditionArb,
        (rules, request, position, condition) => {
          const anonymous = { ...request, user: undefined };
          const at = position % (rules.length + 1);
          const inserted: Rule = { tool: '*', action: 'deny', conditions: { user: condition } };
          const before = evaluate(compileRules(rules), anonymous);
          const after = evaluate(
            compileRules([...rules.slice(0, at), inserted, ...rules.slice(at)]),
            anonymous,
          );
          expect([after.action, after.matched]).toEqual([before.action, before.matched]);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('couldEverAllow is sound: when false, no request for that tool is allowed or alerted', () => {
    fc.assert(
      fc.property(
        fc.array(ruleArb, { maxLength: 10 }),
        fc.array(requestArb, { maxLength: 10 }),
        (rules, requests) => {
          const compiled = compileRules(rules);
          for (const request of requests) {
            const llm = request.model != null || request.endpoint != null;
            if (!couldEverAllow(compiled, request.tool, llm ? request : undefined))
              expect(evaluate(compiled, request).action).toBe('deny');
            // Asked about the model alone (endpoint not given), it must be at least as permissive.
            if (llm && !couldEverAllow(compiled, request.tool, { model: request.model }))
              expect(evaluate(compiled, request).action).toBe('deny');
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  it('candidateRules lists exactly the rules whose glob matches, in order', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 15 }), requestArb, (rules, request) => {
        const expected = rules.flatMap((rule, index) =>
          rule.tool === undefined || referenceGlob(rule.tool, request.tool) ? [index] : [],
        );
        expect(Array.from(candidateRules(compileRules(rules), request.tool))).toEqual(expected);
      }),
      { numRuns: 1000 },
    );
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
