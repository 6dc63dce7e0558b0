/**
 * The policy schema (pure), inside a rule: conditions (fields, operators, values), rateLimit, and
 * the LLM rule fields (model, endpoint, tokenLimit, tokenGuard).
 */
import { describe, expect, it } from 'vitest';
import { LLM_ENDPOINTS } from '../llm/llm.endpoints.ts';
import { acceptsRule, allow, issuesOf, ruleIssue } from './policy.schema.fixtures.ts';
import { MAX_LIST_VALUES, POLICY_ENDPOINTS, parsePolicy } from './policy.schema.ts';

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
