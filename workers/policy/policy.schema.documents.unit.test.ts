/**
 * The policy schema (pure), the document: what parsePolicy accepts, document-level refusals, rule
 * refusals carrying their rule index and path, the path/issue helpers, and property tests (random
 * documents never throw, every refusal names where).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { acceptsRule, allow, issuesOf, ruleIssue } from './policy.schema.fixtures.ts';
import {
  formatPath,
  isConditionField,
  isRateLimitKey,
  MAX_LIST_VALUES,
  MAX_RULES,
  POLICY_ENDPOINTS,
  parsePolicy,
} from './policy.schema.ts';

describe('parsePolicy — accepted documents', () => {
  it('accepts an empty rule list', () => {
    expect(parsePolicy({ rules: [] })).toEqual({ ok: true, policy: { rules: [] } });
  });

  it('accepts every documented rule feature and keeps the document as written', () => {
    const rule = {
      tool: 'github_*',
      action: 'alert',
      conditions: {
        user: 'alice',
        'metadata.admin': true,
        'metadata.level': 3,
        'metadata.role': { eq: 'dev' },
        'metadata.team.name': { neq: 'ops' },
        'metadata.org.team.id': { in: ['a', 1, false] },
        'metadata.env': { nin: ['prod'] },
      },
      reason: 'watch github writes',
      rateLimit: { limit: 10, windowSeconds: 60, by: 'metadata.tenant.id' },
    };
    expect(parsePolicy({ rules: [rule] })).toEqual({ ok: true, policy: { rules: [rule] } });
  });

  it.each(['user', 'apiKey', 'connection', 'metadata.tenant', 'metadata.a.b.c'])(
    'accepts rateLimit.by %j',
    (by) => {
      expect(acceptsRule(allow({ rateLimit: { limit: 1, windowSeconds: 1, by } }))).toBe(true);
    },
  );

  it('accepts exactly MAX_RULES rules', () => {
    const rules = Array.from({ length: MAX_RULES }, () => ({ tool: '*', action: 'deny' }));
    expect(parsePolicy({ rules }).ok).toBe(true);
  });

  it('accepts boundary lengths', () => {
    expect(acceptsRule({ tool: 'x'.repeat(256), action: 'deny' })).toBe(true);
    expect(acceptsRule(allow({ reason: 'r'.repeat(500) }))).toBe(true);
    const values = Array.from({ length: MAX_LIST_VALUES }, (_, i) => i);
    expect(acceptsRule(allow({ conditions: { user: { in: values } } }))).toBe(true);
    expect(acceptsRule(allow({ rateLimit: { limit: 1, windowSeconds: 86_400, by: 'user' } }))).toBe(true);
  });
});

describe('parsePolicy — document-level refusals', () => {
  it.each([null, 'rules', 42, []])('refuses a non-object document %j', (input) => {
    expect(issuesOf(input)).toEqual([
      { ruleIndex: null, path: '', message: 'policy must be an object of the form { "rules": [...] }' },
    ]);
  });

  it('refuses a missing or non-array rules field', () => {
    expect(issuesOf({})).toEqual([{ ruleIndex: null, path: 'rules', message: 'rules must be an array' }]);
    expect(issuesOf({ rules: {} })).toEqual([
      { ruleIndex: null, path: 'rules', message: 'rules must be an array' },
    ]);
  });

  it('refuses unknown top-level keys', () => {
    expect(issuesOf({ rules: [], version: 2 })).toEqual([
      { ruleIndex: null, path: 'version', message: 'unknown field "version"' },
    ]);
  });

  it('refuses more than MAX_RULES rules', () => {
    const rules = Array.from({ length: MAX_RULES + 1 }, () => ({ tool: '*', action: 'deny' }));
    expect(issuesOf({ rules })).toEqual([
      { ruleIndex: null, path: 'rules', message: `a policy may contain at most ${MAX_RULES} rules` },
    ]);
  });
});

describe('parsePolicy — rule refusals carry rule index and path', () => {
  it('refuses a non-object rule', () => {
    expect(issuesOf({ rules: [allow(), 'x'] })).toEqual([
      {
        ruleIndex: 1,
        path: 'rules[1]',
        message: 'rule must be an object with "action" and at least one of "tool", "model" or "endpoint"',
      },
    ]);
  });

  it('refuses bad tool globs', () => {
    // tool is optional when model or endpoint is given; a rule with none of them is refused whole.
    expect(ruleIssue({ action: 'deny' })).toEqual({
      ruleIndex: 0,
      path: 'rules[0]',
      message: 'a rule needs at least one of "tool", "model" or "endpoint"',
    });
    expect(ruleIssue({ tool: 3, action: 'deny' }).message).toBe('tool must be a string');
    expect(ruleIssue({ tool: '', action: 'deny' }).message).toBe('tool glob must not be empty');
    expect(ruleIssue({ tool: 'x'.repeat(257), action: 'deny' }).message).toBe(
      'tool glob must be at most 256 characters',
    );
  });

  it('refuses bad actions', () => {
    expect(ruleIssue({ tool: '*' })).toMatchObject({
      path: 'rules[0].action',
      message: 'action is required',
    });
    expect(ruleIssue({ tool: '*', action: 'block' }).message).toBe(
      'action must be "allow", "deny", "alert" or "approve"',
    );
    expect(ruleIssue({ tool: '*', action: 'ALLOW' }).path).toBe('rules[0].action');
  });

  it('refuses unknown rule keys, naming the key', () => {
    expect(ruleIssue(allow({ priority: 1 }))).toEqual({
      ruleIndex: 0,
      path: 'rules[0].priority',
      message: 'unknown field "priority"',
    });
  });

  it('refuses a reason over 500 characters or of the wrong type', () => {
    expect(ruleIssue(allow({ reason: 'r'.repeat(501) }))).toMatchObject({
      path: 'rules[0].reason',
      message: 'reason must be at most 500 characters',
    });
    expect(ruleIssue(allow({ reason: 5 })).message).toBe('reason must be a string');
  });

  it('reports issues of several rules with their own indices', () => {
    const issues = issuesOf({
      rules: [allow(), { tool: '', action: 'deny' }, allow(), { tool: '*', action: 'x' }],
    });
    expect(issues.map((issue) => [issue.ruleIndex, issue.path])).toEqual([
      [1, 'rules[1].tool'],
      [3, 'rules[3].action'],
    ]);
  });
});

describe('helpers', () => {
  it('formatPath renders indices in brackets and keys with dots', () => {
    expect(formatPath(['rules', 3, 'conditions', 'metadata.role', 'in', 0])).toBe(
      'rules[3].conditions.metadata.role.in[0]',
    );
    expect(formatPath([])).toBe('');
    expect(formatPath([0])).toBe('[0]');
  });

  it('isConditionField / isRateLimitKey', () => {
    expect(isConditionField('user')).toBe(true);
    expect(isConditionField('metadata.a.b.c')).toBe(true);
    expect(isConditionField('apiKey')).toBe(false);
    expect(isConditionField(3)).toBe(false);
    expect(isRateLimitKey('apiKey')).toBe(true);
    expect(isRateLimitKey('connection')).toBe(true);
    expect(isRateLimitKey('metadata.x')).toBe(true);
    expect(isRateLimitKey('metadata')).toBe(false);
  });
});

describe('parsePolicy — properties', () => {
  it('never throws, and every issue names a rule-relative path', () => {
    fc.assert(
      fc.property(
        fc.oneof(fc.jsonValue(), fc.record({ rules: fc.array(fc.jsonValue(), { maxLength: 5 }) })),
        (input) => {
          const result = parsePolicy(input);
          if (!result.ok) {
            expect(result.issues.length).toBeGreaterThan(0);
            for (const issue of result.issues) {
              if (issue.ruleIndex !== null)
                expect(issue.path.startsWith(`rules[${issue.ruleIndex}]`)).toBe(true);
            }
          }
        },
      ),
      { numRuns: 1000 },
    );
  });

  const scalarArb = fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean());
  const conditionArb = fc.oneof(
    scalarArb,
    fc.record({ eq: scalarArb }),
    fc.record({ neq: scalarArb }),
    fc.record({ in: fc.array(scalarArb, { minLength: 1, maxLength: 4 }) }),
    fc.record({ nin: fc.array(scalarArb, { minLength: 1, maxLength: 4 }) }),
  );
  const fieldArb = fc.oneof(
    fc.constant('user'),
    fc
      .array(fc.string({ unit: fc.constantFrom('a', 'b', '_', '-'), minLength: 1, maxLength: 3 }), {
        minLength: 1,
        maxLength: 3,
      })
      .map((keys) => `metadata.${keys.join('.')}`),
  );
  const ruleArb = fc.record(
    {
      tool: fc.string({ minLength: 1, maxLength: 20 }),
      action: fc.constantFrom('allow', 'deny', 'alert'),
      conditions: fc.dictionary(fieldArb, conditionArb, { maxKeys: 3 }),
      reason: fc.string({ maxLength: 500 }),
      rateLimit: fc.record({
        limit: fc.integer({ min: 1, max: 1e6 }),
        windowSeconds: fc.integer({ min: 1, max: 86_400 }),
        by: fc.oneof(
          fc.constantFrom('user', 'apiKey', 'connection'),
          fieldArb.filter((f) => f !== 'user'),
        ),
      }),
      model: fc.string({ minLength: 1, maxLength: 20 }),
      endpoint: fc.oneof(
        fc.constantFrom(...POLICY_ENDPOINTS),
        fc.uniqueArray(fc.constantFrom(...POLICY_ENDPOINTS), { minLength: 1, maxLength: 3 }),
      ),
      tokenLimit: fc.record({
        limit: fc.integer({ min: 1, max: 1e9 }),
        windowSeconds: fc.integer({ min: 1, max: 86_400 }),
        by: fc.constantFrom('user', 'apiKey', 'connection', 'metadata.team'),
      }),
      tokenGuard: fc.record(
        {
          maxInputTokens: fc.integer({ min: 1, max: 1e7 }),
          maxOutputTokens: fc.integer({ min: 1, max: 1e7 }),
          maxRequestMaxTokens: fc.integer({ min: 1, max: 1e7 }),
        },
        { requiredKeys: ['maxOutputTokens'] },
      ),
    },
    { requiredKeys: ['tool', 'action'] },
  );

  it('accepts every well-formed policy unchanged, and survives a JSON round trip', () => {
    fc.assert(
      fc.property(fc.array(ruleArb, { maxLength: 5 }), (rules) => {
        const result = parsePolicy({ rules });
        expect(result).toEqual({ ok: true, policy: { rules } });
        expect(parsePolicy(JSON.parse(JSON.stringify({ rules })))).toEqual(result);
      }),
      { numRuns: 500 },
    );
  });
});
