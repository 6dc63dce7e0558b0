import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { LLM_ENDPOINTS } from '../llm/llm.endpoints.ts';
import {
  formatPath,
  isConditionField,
  isRateLimitKey,
  MAX_LIST_VALUES,
  MAX_RULES,
  POLICY_ENDPOINTS,
  type PolicyIssue,
  parsePolicy,
} from './policy.schema.ts';

function issuesOf(input: unknown): PolicyIssue[] {
  const result = parsePolicy(input);
  if (result.ok) throw new Error(`expected refusal, got ${JSON.stringify(result.policy)}`);
  return result.issues;
}

function acceptsRule(rule: unknown): boolean {
  return parsePolicy({ rules: [rule] }).ok;
}

/** The single issue reported for one rule at index 0. */
function ruleIssue(rule: unknown): PolicyIssue {
  const issues = issuesOf({ rules: [rule] });
  expect(issues).toHaveLength(1);
  return issues[0]!;
}

const allow = (extra: Record<string, unknown> = {}) => ({ tool: 'read_*', action: 'allow', ...extra });

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

describe('parsePolicy — conditions', () => {
  it.each([
    'user',
    'metadata.role',
    'metadata.team.id',
    'metadata.a.b.c',
    'metadata.with space',
    'metadata.ünï',
  ])('accepts field %j', (field) => {
    expect(acceptsRule(allow({ conditions: { [field]: 'x' } }))).toBe(true);
  });

  it.each([
    'User',
    'tool',
    'metadata',
    'metadata.',
    'metadata..a',
    'metadata.a.',
    'metadata.a..b',
    'metadata.a.b.c.d',
    'meta.role',
    'user.name',
    '',
  ])('refuses field %j with its path', (field) => {
    const issue = ruleIssue(allow({ conditions: { [field]: 'x' } }));
    expect(issue.ruleIndex).toBe(0);
    expect(issue.path).toBe(`rules[0].conditions.${field}`);
    expect(issue.message).toMatch(/^field must be "user", "team", "metadata.<key>" .* or "args.<key>"/);
  });

  it('refuses conditions that are not an object', () => {
    expect(ruleIssue(allow({ conditions: [] }))).toMatchObject({
      path: 'rules[0].conditions',
      message: 'conditions must be an object mapping fields to conditions',
    });
  });

  it.each([null, [], ['a']])('refuses condition value %j', (value) => {
    const issue = ruleIssue(allow({ conditions: { user: value } }));
    expect(issue.path).toBe('rules[0].conditions.user');
  });

  it('refuses non-finite numbers (not representable in JSON)', () => {
    expect(ruleIssue(allow({ conditions: { user: Number.NaN } })).path).toBe('rules[0].conditions.user');
    expect(ruleIssue(allow({ conditions: { user: { eq: Infinity } } })).path).toBe(
      'rules[0].conditions.user.eq',
    );
  });

  it('requires exactly one operator', () => {
    const message =
      'condition object must contain exactly one operator: eq, neq, in, nin, prefix, suffix, glob, matches, lt, lte, gt, gte, maxLength, exists, hostIn, pathWithin';
    expect(ruleIssue(allow({ conditions: { user: {} } }))).toEqual({
      ruleIndex: 0,
      path: 'rules[0].conditions.user',
      message,
    });
    expect(ruleIssue(allow({ conditions: { user: { eq: 'a', neq: 'b' } } })).message).toBe(message);
    expect(ruleIssue(allow({ conditions: { user: { in: ['a'], nin: ['b'] } } })).message).toBe(message);
  });

  it('refuses unknown operators, naming them', () => {
    const issues = issuesOf({ rules: [allow({ conditions: { 'metadata.role': { eq: 'a', above: 1 } } })] });
    expect(issues).toEqual([
      { ruleIndex: 0, path: 'rules[0].conditions.metadata.role.above', message: 'unknown field "above"' },
    ]);
  });

  it('refuses non-scalar operands', () => {
    expect(ruleIssue(allow({ conditions: { user: { eq: { a: 1 } } } }))).toEqual({
      ruleIndex: 0,
      path: 'rules[0].conditions.user.eq',
      message: 'expected a string, number or boolean',
    });
    expect(ruleIssue(allow({ conditions: { user: { neq: null } } })).path).toBe(
      'rules[0].conditions.user.neq',
    );
  });

  it('validates in/nin lists: size and element type, with element path', () => {
    expect(ruleIssue(allow({ conditions: { 'metadata.role': { in: [] } } }))).toEqual({
      ruleIndex: 0,
      path: 'rules[0].conditions.metadata.role.in',
      message: 'list must contain at least 1 value',
    });
    const tooMany = Array.from({ length: MAX_LIST_VALUES + 1 }, (_, i) => `v${i}`);
    expect(ruleIssue(allow({ conditions: { user: { nin: tooMany } } }))).toMatchObject({
      path: 'rules[0].conditions.user.nin',
      message: `list must contain at most ${MAX_LIST_VALUES} values`,
    });
    expect(ruleIssue(allow({ conditions: { user: { in: 'admin' } } })).path).toBe(
      'rules[0].conditions.user.in',
    );
    expect(ruleIssue(allow({ conditions: { 'metadata.role': { in: ['a', null] } } }))).toEqual({
      ruleIndex: 0,
      path: 'rules[0].conditions.metadata.role.in[1]',
      message: 'expected a string, number or boolean',
    });
  });

  it('normalises operator objects to exactly one defined key', () => {
    const result = parsePolicy({ rules: [allow({ conditions: { user: { eq: undefined, in: ['a'] } } })] });
    expect(result).toEqual({ ok: true, policy: { rules: [allow({ conditions: { user: { in: ['a'] } } })] } });
    if (result.ok) expect(Object.keys(result.policy.rules[0]!.conditions!.user as object)).toEqual(['in']);
  });
});

describe('parsePolicy — rateLimit', () => {
  const withLimit = (rateLimit: unknown) => allow({ rateLimit });

  it.each([
    [{ limit: 0, windowSeconds: 60, by: 'user' }, 'rules[0].rateLimit.limit', 'limit must be at least 1'],
    [{ limit: 1.5, windowSeconds: 60, by: 'user' }, 'rules[0].rateLimit.limit', 'limit must be an integer'],
    [{ windowSeconds: 60, by: 'user' }, 'rules[0].rateLimit.limit', 'limit is required'],
    [{ limit: '5', windowSeconds: 60, by: 'user' }, 'rules[0].rateLimit.limit', 'limit must be a number'],
    [
      { limit: 5, windowSeconds: 0, by: 'user' },
      'rules[0].rateLimit.windowSeconds',
      'windowSeconds must be at least 1',
    ],
    [
      { limit: 5, windowSeconds: 86_401, by: 'user' },
      'rules[0].rateLimit.windowSeconds',
      'windowSeconds must be at most 86400',
    ],
    [
      { limit: 5, windowSeconds: 2.5, by: 'user' },
      'rules[0].rateLimit.windowSeconds',
      'windowSeconds must be an integer',
    ],
    [{ limit: 5, windowSeconds: 60, by: 'ip' }, 'rules[0].rateLimit.by', null],
    [{ limit: 5, windowSeconds: 60, by: 'metadata.' }, 'rules[0].rateLimit.by', null],
    [{ limit: 5, windowSeconds: 60, by: 'metadata.a.b.c.d' }, 'rules[0].rateLimit.by', null],
    [{ limit: 5, windowSeconds: 60 }, 'rules[0].rateLimit.by', null],
    [
      { limit: 5, windowSeconds: 60, by: 'user', burst: 2 },
      'rules[0].rateLimit.burst',
      'unknown field "burst"',
    ],
    ['10/min', 'rules[0].rateLimit', 'rateLimit must be an object { limit, windowSeconds, by }'],
  ])('refuses %j at %s', (rateLimit, path, message) => {
    const issue = ruleIssue(withLimit(rateLimit));
    expect(issue.path).toBe(path);
    expect(issue.message).toBe(message ?? 'by must be "user", "apiKey", "connection" or "metadata.<key>"');
  });
});

const ENDPOINT_MESSAGE = `endpoint must be one of ${POLICY_ENDPOINTS.map((e) => `"${e}"`).join(', ')}`;

describe('parsePolicy — LLM rules (model, endpoint, tokenLimit, tokenGuard)', () => {
  it('accepts a model glob and/or endpoints without a tool, and every endpoint name', () => {
    for (const rule of [
      { model: 'gpt-4o*', action: 'allow' },
      { endpoint: 'embeddings', action: 'allow' },
      { endpoint: [...POLICY_ENDPOINTS], action: 'deny' },
      { tool: '*', model: 'claude-*', endpoint: ['messages', 'messages.count_tokens'], action: 'alert' },
    ]) {
      expect(parsePolicy({ rules: [rule] })).toEqual({ ok: true, policy: { rules: [rule] } });
    }
    expect(POLICY_ENDPOINTS).toEqual([...LLM_ENDPOINTS, 'passthrough']);
  });

  it('accepts tokenLimit and tokenGuard and keeps them as written', () => {
    const rule = {
      model: 'gpt-*',
      action: 'allow',
      tokenLimit: { limit: 100_000, windowSeconds: 60, by: 'apiKey' },
      tokenGuard: { maxInputTokens: 8000, maxOutputTokens: 1024, maxRequestMaxTokens: 4096 },
    };
    expect(parsePolicy({ rules: [rule] })).toEqual({ ok: true, policy: { rules: [rule] } });
    expect(acceptsRule({ model: '*', action: 'allow', tokenGuard: { maxOutputTokens: 1 } })).toBe(true);
  });

  it.each<[unknown, string, string]>([
    [{ model: '', action: 'allow' }, 'rules[0].model', 'model glob must not be empty'],
    [{ model: 5, action: 'allow' }, 'rules[0].model', 'model must be a string'],
    [
      { model: 'm'.repeat(257), action: 'allow' },
      'rules[0].model',
      'model glob must be at most 256 characters',
    ],
    [{ endpoint: 'chat', action: 'allow' }, 'rules[0].endpoint', ENDPOINT_MESSAGE],
    [{ endpoint: 'Chat.Completions', action: 'allow' }, 'rules[0].endpoint', ENDPOINT_MESSAGE],
    [{ endpoint: ['messages', 'x'], action: 'allow' }, 'rules[0].endpoint[1]', ENDPOINT_MESSAGE],
    [{ endpoint: [], action: 'allow' }, 'rules[0].endpoint', 'endpoint list must contain at least 1 name'],
    [{ endpoint: 3, action: 'allow' }, 'rules[0].endpoint', 'endpoint must be a name or a list of names'],
    [
      { model: '*', action: 'allow', tokenLimit: { limit: 0, windowSeconds: 60, by: 'user' } },
      'rules[0].tokenLimit.limit',
      'limit must be at least 1',
    ],
    [
      { model: '*', action: 'allow', tokenLimit: { limit: 5, windowSeconds: 86_401, by: 'user' } },
      'rules[0].tokenLimit.windowSeconds',
      'windowSeconds must be at most 86400',
    ],
    [
      { model: '*', action: 'allow', tokenLimit: { limit: 5, windowSeconds: 60, by: 'ip' } },
      'rules[0].tokenLimit.by',
      'by must be "user", "apiKey", "connection" or "metadata.<key>"',
    ],
    [
      { model: '*', action: 'allow', tokenLimit: '10k/min' },
      'rules[0].tokenLimit',
      'tokenLimit must be an object { limit, windowSeconds, by }',
    ],
    [
      { model: '*', action: 'allow', tokenGuard: {} },
      'rules[0].tokenGuard',
      'tokenGuard must set at least one of maxInputTokens, maxOutputTokens, maxRequestMaxTokens',
    ],
    [
      { model: '*', action: 'allow', tokenGuard: 100 },
      'rules[0].tokenGuard',
      'tokenGuard must be an object with at least one of maxInputTokens, maxOutputTokens, maxRequestMaxTokens',
    ],
    [
      { model: '*', action: 'allow', tokenGuard: { maxInputTokens: 0 } },
      'rules[0].tokenGuard.maxInputTokens',
      'maxInputTokens must be at least 1',
    ],
    [
      { model: '*', action: 'allow', tokenGuard: { maxOutputTokens: 1.5 } },
      'rules[0].tokenGuard.maxOutputTokens',
      'maxOutputTokens must be an integer',
    ],
    [
      { model: '*', action: 'allow', tokenGuard: { maxRequestMaxTokens: '4k' } },
      'rules[0].tokenGuard.maxRequestMaxTokens',
      'maxRequestMaxTokens must be a number',
    ],
  ])('refuses %j at %s', (rule, path, message) => {
    expect(ruleIssue(rule)).toEqual({ ruleIndex: 0, path, message });
  });

  it('names an unknown tokenGuard field, and that none of the known ones is set', () => {
    expect(issuesOf({ rules: [{ model: '*', action: 'allow', tokenGuard: { maxTokens: 5 } }] })).toEqual([
      { ruleIndex: 0, path: 'rules[0].tokenGuard.maxTokens', message: 'unknown field "maxTokens"' },
      {
        ruleIndex: 0,
        path: 'rules[0].tokenGuard',
        message: 'tokenGuard must set at least one of maxInputTokens, maxOutputTokens, maxRequestMaxTokens',
      },
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
